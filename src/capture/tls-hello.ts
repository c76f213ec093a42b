// Reads the server name (SNI) from a captured TLS ClientHello record. Bounds-checked at every
// step: a truncated or hostile record yields null, never an exception.
export function parseClientHelloSni(rec: Uint8Array): string | null {
  const n = rec.length;
  if (n < 43 || rec[0] !== 0x16 || rec[5] !== 0x01) return null;
  let p = 9 + 2 + 32; // record header 5, handshake header 4, client_version 2, random 32
  if (p >= n) return null;
  p += 1 + rec[p]; // session id
  if (p + 2 > n) return null;
  p += 2 + ((rec[p] << 8) | rec[p + 1]); // cipher suites
  if (p + 1 > n) return null;
  p += 1 + rec[p]; // compression methods
  if (p + 2 > n) return null;
  const extEnd = Math.min(n, p + 2 + ((rec[p] << 8) | rec[p + 1]));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = (rec[p] << 8) | rec[p + 1];
    const len = (rec[p + 2] << 8) | rec[p + 3];
    p += 4;
    if (type === 0 && p + 5 <= extEnd) {
      // server_name_list: u16 length, then entries of u8 type, u16 length, name.
      const nameType = rec[p + 2];
      const nameLen = (rec[p + 3] << 8) | rec[p + 4];
      if (nameType !== 0 || p + 5 + nameLen > extEnd || nameLen === 0 || nameLen > 255) return null;
      const name = Buffer.from(rec.buffer, rec.byteOffset + p + 5, nameLen).toString('latin1');
      return /^[A-Za-z0-9._-]+$/.test(name) ? name.toLowerCase() : null;
    }
    p += len;
  }
  return null;
}
