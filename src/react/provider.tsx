import { createContext, type ReactElement, type ReactNode, Suspense, useContext } from "react";
import { type OmsClient, OmsError } from "../client/index.js";
import { type OmsStores, type ReactOptions, storesOf } from "./stores.js";

const OmsContext = createContext<OmsStores | null>(null);

/** Props of {@link OmsProvider}. */
export interface OmsProviderProps {
  /** A started client (`await createClient(…)`). The provider never closes it. */
  client: OmsClient;
  /**
   * Limits of the bindings (see `reactDefaults`). What a client's hooks keep is shared by every
   * provider of that client: the first provider to render decides.
   */
  options?: Partial<ReactOptions>;
  /**
   * When given, the children are wrapped in `<Suspense fallback={fallback}>`: the boundary for
   * documents that are opening, when the app has no nearer one.
   */
  fallback?: ReactNode;
  children?: ReactNode;
}

/**
 * Makes a client available to the hooks and components below it. Create the client before
 * rendering (it is async: it reads the session, or the device's copy of it offline), and close
 * it yourself when the app goes away.
 *
 * @example
 * ```tsx
 * const client = await createClient({ url: "wss://relay.example.com", token });
 * createRoot(el).render(
 *   <OmsProvider client={client}>
 *     <App />
 *   </OmsProvider>,
 * );
 * ```
 */
export function OmsProvider(props: OmsProviderProps): ReactElement {
  const { client, options, fallback, children } = props;
  return (
    <OmsContext.Provider value={storesOf(client, options)}>
      {fallback === undefined ? children : <Suspense fallback={fallback}>{children}</Suspense>}
    </OmsContext.Provider>
  );
}

/** The stores of the nearest provider's client (internal). */
export function useStores(): OmsStores {
  const stores = useContext(OmsContext);
  if (!stores)
    throw new OmsError(
      "INVALID_INPUT",
      "an oms-sync/react hook was used outside <OmsProvider>: wrap the app (or this part of it) in <OmsProvider client={client}>",
    );
  return stores;
}

/**
 * The client of the nearest `<OmsProvider>`: for what the hooks do not cover (`create`,
 * `submit`, `sync.now()`). Throws `INVALID_INPUT` outside a provider.
 *
 * @example
 * ```tsx
 * const client = useClient();
 * <button onClick={() => client.quotes.create({ currency: "USD" })}>New quote</button>
 * ```
 */
export function useClient(): OmsClient {
  return useStores().client;
}
