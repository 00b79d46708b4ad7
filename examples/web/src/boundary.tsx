// A view that cannot open its document (not found, not allowed, offline) shows why, in place;
// the rest of the page keeps working.
import { Component, type ReactNode, Suspense } from "react";

class Boundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    if (this.state.error)
      return (
        <div className="card">
          <p className="reason" data-testid="error">
            {this.state.error.message}
          </p>
        </div>
      );
    return this.props.children;
  }
}

/** Suspense while a document opens, and its open's error in place of the view. */
export function ViewFrame({ children }: { children: ReactNode }) {
  return (
    <Boundary>
      <Suspense fallback={<p className="muted">Opening…</p>}>{children}</Suspense>
    </Boundary>
  );
}
