/**
 * @module server/front/mqtt/client-id-chain
 * CONNECTs of one client id taken one after the other from takeover to the connection opened
 * (or its session given back): a second CONNECT never sees a first one half-way, with its
 * session taken from the store but not yet held by an open connection (MQTT §3.1.4-3).
 * Client ids with nothing in progress hold no entry.
 *
 * @example
 * const accepted = await chain.run(clientId, () => takeOverAndOpen());
 */
export class ClientIdChain {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `step` once every earlier step of `clientId` has settled. */
  run<T>(clientId: string, step: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(clientId) ?? Promise.resolve();
    const result = previous.then(step);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(clientId, tail);
    void tail.then(() => {
      if (this.#tails.get(clientId) === tail) this.#tails.delete(clientId);
    });
    return result;
  }
}
