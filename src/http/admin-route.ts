/**
 * Admin routes: fixed paths on the service port (e.g. `/_sealdb/time`) answered with JSON by the
 * server itself, outside the AWS protocols. They see every method on their path and decide alone
 * who may call them: they are not SigV4-authenticated.
 */
export interface AdminRequest {
  readonly method: string;
  /** The raw body, as read for any request. */
  readonly body: Buffer;
  /** The client's IP address as the socket sees it. */
  readonly remoteAddress: string;
}

export interface AdminReply {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

export type AdminRoute = (request: AdminRequest) => Promise<AdminReply>;

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}
