// The example OMS front end: React on oms-sync and oms-sync/react, built by Vite.
import { createClient, type OmsClient } from "oms-sync";
import { OmsProvider } from "oms-sync/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.js";
import { type Demo, demoClock, loadDemo, signedInUser } from "./demo.js";
import { SignIn } from "./views/SignIn.js";
import "./styles.css";

const root = createRoot(document.getElementById("root") as HTMLElement);

async function start(): Promise<void> {
  const demo: Demo | null = await loadDemo();
  const user = demo && signedInUser(demo);
  if (!demo || !user) return root.render(<SignIn demo={demo} />);
  let client: OmsClient;
  try {
    // Each user gets a partition of the device of their own (database `oms-sync:<org>:<user>`).
    client = await createClient({ url: demo.relayUrl, token: user.token, clock: demoClock });
  } catch (err) {
    return root.render(<SignIn demo={demo} error={(err as Error).message} />);
  }
  root.render(
    <StrictMode>
      <OmsProvider client={client}>
        <App user={user} />
      </OmsProvider>
    </StrictMode>,
  );
}

void start();
