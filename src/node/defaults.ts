/** The shutdown drain's defaults, in one place for installShutdownDrain and the tests that hold recipes to them. */
export const DEFAULT_DRAIN_MS = 5000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
