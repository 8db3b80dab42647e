import { useState } from 'react';

/**
 * Asks for the API token once, when the API answers 401. The token is kept for this browser tab
 * only (sessionStorage, lib/token.ts) and sent as `Authorization: Bearer` on every request.
 */
export function TokenPrompt({ rejected, onSubmit }: { rejected: boolean; onSubmit: (token: string) => void }) {
  const [value, setValue] = useState('');
  const token = value.trim();
  return (
    <form
      className="token-prompt"
      aria-label="API token"
      onSubmit={(e) => {
        e.preventDefault();
        if (token) onSubmit(token);
      }}
    >
      <h2>This API needs a token</h2>
      {rejected && (
        <p className="error" role="alert">
          The token was refused (unknown or revoked). Check it, or ask for a new one.
        </p>
      )}
      <p>
        Ask whoever runs the server for a token (<code>mrlseg-api token create --role reader --store …</code>). It is kept for this browser tab only and sent with every
        request.
      </p>
      <label>
        Token{' '}
        <input type="password" autoComplete="off" spellCheck={false} value={value} onChange={(e) => setValue(e.target.value)} aria-label="token" size={50} autoFocus />
      </label>{' '}
      <button type="submit" disabled={!token}>
        Use token
      </button>
    </form>
  );
}
