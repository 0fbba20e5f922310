// x87 80-bit extended precision <-> JS numbers (little-endian bytes, as stored by fstp tbyte).

/** Double -> 80-bit x87 extended (exact: every double is representable). Little-endian bytes. */
export function numberToX87(v: number): Uint8Array {
  const out = new Uint8Array(10);
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  const bits = dv.getBigUint64(0);
  const sign = Number(bits >> 63n);
  const exp = Number((bits >> 52n) & 0x7ffn);
  let frac = bits & ((1n << 52n) - 1n);
  let e: number;
  let mant: bigint;
  if (exp === 0x7ff) { e = 0x7fff; mant = (1n << 63n) | (frac << 11n); }
  else if (exp === 0) {
    if (frac === 0n) { e = 0; mant = 0n; }
    else {
      // Subnormal double: normalise into the explicit-integer-bit format.
      let shift = 0;
      while ((frac & (1n << 52n)) === 0n) { frac <<= 1n; shift++; }
      e = 1 - 1023 - shift + 16383; mant = frac << 11n;
    }
  } else { e = exp - 1023 + 16383; mant = (1n << 63n) | (frac << 11n); }
  for (let i = 0; i < 8; i++) out[i] = Number((mant >> BigInt(8 * i)) & 0xffn);
  out[8] = e & 0xff;
  out[9] = ((e >> 8) & 0x7f) | (sign << 7);
  return out;
}

export function x87BytesToNumber(b: Uint8Array): number {
  let mant = 0n;
  for (let i = 7; i >= 0; i--) mant = (mant << 8n) | BigInt(b[i]);
  const se = b[8] | (b[9] << 8);
  const sign = se & 0x8000 ? -1 : 1;
  const exp = se & 0x7fff;
  if (exp === 0x7fff) return (mant & ((1n << 63n) - 1n)) === 0n ? sign * Infinity : NaN;
  if (mant === 0n) return sign * 0;
  const e = (exp === 0 ? 1 : exp) - 16383 - 63;
  const half = Math.trunc(e / 2);
  return sign * Number(mant) * 2 ** half * 2 ** (e - half);
}

