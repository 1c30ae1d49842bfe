// Messages between CryptoPool and crypto-worker. Plain data only: everything crosses by structured clone.

export const CryptoOp = { Verify: 0, Sign: 1, BcryptCompare: 2, BcryptHash: 3 } as const;
export type CryptoOp = (typeof CryptoOp)[keyof typeof CryptoOp];

export type CryptoRequest =
  | { id: number; op: typeof CryptoOp.Verify; message: Uint8Array; signature: Uint8Array; publicKey: Uint8Array }
  | { id: number; op: typeof CryptoOp.Sign; message: Uint8Array; secretKey: Uint8Array }
  | { id: number; op: typeof CryptoOp.BcryptCompare; plain: string; hash: string }
  | { id: number; op: typeof CryptoOp.BcryptHash; plain: string; cost: number };

export type CryptoResult = boolean | Uint8Array | string;

export type CryptoResponse = { id: number; ok: true; value: CryptoResult } | { id: number; ok: false; error: string };
