import { type Demo, signIn, signOut } from "../demo.js";

/** The demo's users, one button each; or why signing in failed. */
export function SignIn({ demo, error }: { demo: Demo | null; error?: string }) {
  if (error)
    return (
      <main>
        <div className="card">
          <p className="reason" data-testid="error">
            {error}
          </p>
          <button type="button" onClick={signOut}>
            Back
          </button>
        </div>
      </main>
    );
  return (
    <>
      <header>
        <strong>OMS</strong>
      </header>
      <main>
        <div className="card users">
          <h2>Sign in</h2>
          {demo === null && <p className="reason">The demo server cannot be reached.</p>}
          {demo?.users.map((u) => (
            <button
              type="button"
              key={u.sub}
              data-testid={`sign-in-${u.sub}`}
              onClick={() => signIn(u.sub)}
            >
              {u.name} — {u.org}
            </button>
          ))}
        </div>
      </main>
    </>
  );
}
