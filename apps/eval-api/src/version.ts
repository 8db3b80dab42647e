import pkg from '../package.json' with { type: 'json' };

/** The API's version (its package version), served by /health and in the OpenAPI document. */
export const API_VERSION: string = pkg.version;
