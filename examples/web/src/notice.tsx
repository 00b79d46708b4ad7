// A message in the page, never a blocking alert: errors stay until dismissed, good news goes by
// itself.
import { createContext, type ReactNode, useCallback, useContext, useRef, useState } from "react";

type Kind = "error" | "info";
type Show = (message: string, kind?: Kind) => void;

const NoticeContext = createContext<Show>(() => {});

export function NoticeProvider({ children }: { children: ReactNode }) {
  const [notice, setNotice] = useState<{ message: string; kind: Kind } | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const show = useCallback<Show>((message, kind = "error") => {
    clearTimeout(timer.current);
    if (kind === "info") timer.current = setTimeout(() => setNotice(null), 4_000);
    setNotice({ message, kind });
  }, []);
  return (
    <NoticeContext.Provider value={show}>
      {notice && (
        <div id="notice" role="alert" data-testid="notice" className={notice.kind}>
          <span data-testid="notice-text">{notice.message}</span>
          <button
            type="button"
            className="secondary"
            aria-label="Dismiss"
            onClick={() => setNotice(null)}
          >
            ✕
          </button>
        </div>
      )}
      {children}
    </NoticeContext.Provider>
  );
}

export const useNotice = () => useContext(NoticeContext);

/** Runs an action; what goes wrong becomes a notice instead of an unhandled rejection. */
export function useAction() {
  const show = useNotice();
  return useCallback(
    (fn: () => unknown) => {
      try {
        const result = fn();
        if (result instanceof Promise) result.catch((err: unknown) => show((err as Error).message));
      } catch (err) {
        show((err as Error).message);
      }
    },
    [show],
  );
}
