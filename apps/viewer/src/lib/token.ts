/**
 * Where the viewer keeps the API token: sessionStorage, so it lasts for this browser tab (reloads
 * included) and is gone when the tab closes; never localStorage, cookies or the URL. Falls back to
 * memory where sessionStorage is unavailable (tests under Node, storage disabled).
 */
export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

export const TOKEN_KEY = 'mrlseg.apiToken';

/** A TokenStore over `storage` (default: window.sessionStorage), or memory when there is none. */
export function sessionTokenStore(storage: Storage | undefined = typeof sessionStorage === 'undefined' ? undefined : sessionStorage): TokenStore {
  let memory: string | null = null;
  const safe = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch {
      return fallback; // storage disabled (privacy settings): keep the token in memory
    }
  };
  return {
    get: () => (storage ? safe(() => storage.getItem(TOKEN_KEY), memory) : memory) ?? memory,
    set: (token) => {
      memory = token;
      if (storage) safe(() => storage.setItem(TOKEN_KEY, token), undefined);
    },
    clear: () => {
      memory = null;
      if (storage) safe(() => storage.removeItem(TOKEN_KEY), undefined);
    },
  };
}
