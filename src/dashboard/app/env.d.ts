// The SDK's producer names Node's setImmediate in its types; the dashboard never produces, but
// type-checks the SDK's sources with the DOM library, which has no such function.
declare function setImmediate(callback: () => void): number;
declare function clearImmediate(handle: number | undefined): void;
