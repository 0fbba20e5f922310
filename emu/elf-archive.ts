// Static archives (`ar rcs libfoo.a ...`): the GNU/System V format that binutils writes.
// An archive is the magic "!<arch>\n" then members, each a 60-byte text header and its bytes,
// padded to an even offset. Special members: "/" (symbol index: a big-endian count, that many
// big-endian member offsets, then the NUL-terminated symbol names), "/SYM64/" (the same with
// 64-bit offsets) and "//" (long member names, each ending in "/\n"; a header then says "/123").
// Every offset and size is checked, so a truncated or corrupt archive ends in an ElfError.

import { ElfError, hex } from './elf-read.ts';

export const ARCHIVE_MAGIC = '!<arch>\n';
const THIN_MAGIC = '!<thin>\n';
const HEADER = 60;

export interface ArchiveMember {
  /** The member's file name ("strlen.o"). */
  name: string;
  /** Offset of its header in the archive: what the symbol index refers to. */
  offset: number;
  bytes: Uint8Array;
}

export interface Archive {
  file?: string;
  members: ArchiveMember[];
  /** Global symbol -> the members defining it, in index order (the first one is used). */
  index: Map<string, ArchiveMember[]>;
  /** Whether the archive had a symbol index ("/" or "/SYM64/"); without one, callers build it. */
  indexed: boolean;
}

const latin1 = new TextDecoder('latin1');

export function isArchive(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && latin1.decode(bytes.subarray(0, 8)) === ARCHIVE_MAGIC;
}

/** Reads every member and the symbol index. */
export function readArchive(bytes: Uint8Array, file?: string): Archive {
  const fail = (message: string): never => {
    throw new ElfError(message, file);
  };
  if (bytes.length >= 8 && latin1.decode(bytes.subarray(0, 8)) === THIN_MAGIC) {
    fail('thin archives (ar --thin) are not supported: their members live in other files; make a normal archive with ar rcs');
  }
  if (!isArchive(bytes)) fail('not an archive (bad magic)');

  const members: ArchiveMember[] = [];
  let symdef: { bytes: Uint8Array; wide: boolean } | undefined;
  let longNames: Uint8Array | undefined;
  let at = 8;
  while (at < bytes.length) {
    if (at + HEADER > bytes.length) fail(`member header at ${hex(at)} is truncated (the archive has ${bytes.length} bytes)`);
    const header = latin1.decode(bytes.subarray(at, at + HEADER));
    if (header.slice(58, 60) !== '`\n') fail(`member header at ${hex(at)} is corrupt (no terminator)`);
    const sizeText = header.slice(48, 58).trim();
    if (!/^\d+$/.test(sizeText)) fail(`member header at ${hex(at)} has a bad size field '${sizeText}'`);
    const size = Number(sizeText);
    const start = at + HEADER;
    if (start + size > bytes.length) fail(`member at ${hex(at)} (${size} bytes) extends beyond the end of the archive`);
    const body = bytes.subarray(start, start + size);
    const rawName = header.slice(0, 16).trimEnd();
    if (rawName === '/' || rawName === '/SYM64/') symdef = { bytes: body, wide: rawName === '/SYM64/' };
    else if (rawName === '//') longNames = body;
    else if (rawName.startsWith('__.SYMDEF')) fail('BSD-style archives (__.SYMDEF) are not supported: make the archive with GNU ar');
    else members.push({ name: memberName(rawName, longNames, at, fail), offset: at, bytes: body });
    at = start + size + (size & 1);
  }

  const index = new Map<string, ArchiveMember[]>();
  if (symdef) {
    const byOffset = new Map(members.map((m) => [m.offset, m]));
    for (const [name, offset] of readSymbolIndex(symdef.bytes, symdef.wide, fail)) {
      const member = byOffset.get(offset);
      if (!member) throw new ElfError(`symbol index: \`${name}\` points to offset ${hex(offset)}, where no member starts`, file);
      const list = index.get(name) ?? [];
      if (!list.includes(member)) list.push(member);
      index.set(name, list);
    }
  }
  return { file, members, index, indexed: symdef !== undefined };
}

/** "foo.o/" is a short name; "/123" the name at offset 123 of the long-name table. */
function memberName(raw: string, longNames: Uint8Array | undefined, at: number, fail: (m: string) => never): string {
  const long = /^\/(\d+)$/.exec(raw);
  if (!long) return raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (!longNames) fail(`member at ${hex(at)} names long-name offset ${long[1]}, but the archive has no long-name table`);
  const offset = Number(long[1]);
  if (offset >= longNames.length) fail(`member at ${hex(at)}: long-name offset ${offset} is outside the table (${longNames.length} bytes)`);
  let end = offset;
  while (end < longNames.length && longNames[end] !== 0x0a) end++;
  const name = latin1.decode(longNames.subarray(offset, end));
  return name.endsWith('/') ? name.slice(0, -1) : name;
}

/** (symbol, member header offset) pairs of a "/" or "/SYM64/" member. */
function readSymbolIndex(body: Uint8Array, wide: boolean, fail: (m: string) => never): [string, number][] {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const word = wide ? 8 : 4;
  const read = (o: number): number => {
    if (o + word > body.length) fail(`symbol index is truncated at byte ${o} of ${body.length}`);
    if (!wide) return dv.getUint32(o, false);
    const v = dv.getBigUint64(o, false);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`symbol index: offset 0x${v.toString(16)} is too large`);
    return Number(v);
  };
  const count = read(0);
  if (count > (body.length - word) / word) fail(`symbol index claims ${count} symbols but has room for at most ${Math.floor((body.length - word) / word)}`);
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(read(word + i * word));
  const out: [string, number][] = [];
  let p = word + count * word;
  for (let i = 0; i < count; i++) {
    const end = body.indexOf(0, p);
    if (end < 0) fail(`symbol index: name ${i + 1} of ${count} is not NUL-terminated`);
    out.push([latin1.decode(body.subarray(p, end)), offsets[i]]);
    p = end + 1;
  }
  return out;
}
