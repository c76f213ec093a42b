// Minimal ELF64 reader: finds exported function symbols and converts them to file offsets for
// uprobes. We resolve offsets ourselves (instead of libbpf's func_name lookup) so that one parse
// per binary inode serves every probe, and so that versioned names (SSL_read@@OPENSSL_3.0.0) and
// symbols present in both .dynsym and .symtab are handled the same way everywhere.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';

export interface ElfSymbols {
  /** symbol name (without @version) -> file offset of the function entry */
  functions: Map<string, number>;
}

const SHT_DYNSYM = 11;
// Bounds for hostile files (any container can exec one): headers and symbol tables beyond these
// are refused instead of allocated. The node binary's .dynsym is ~3 MB, its .dynstr ~6 MB.
const MAX_HEADER_TABLE = 1024 * 1024;
const MAX_SYMBOL_TABLE = 64 * 1024 * 1024;
const STT_FUNC = 2;
const PT_LOAD = 1;

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, pos + got);
    if (n <= 0) throw new Error(`short read at ${pos + got}`);
    got += n;
  }
  return b;
}

/**
 * Returns the file offsets of the wanted function names exported through .dynsym.
 * Throws an Error with a one-line message for files that are not little-endian ELF64.
 */
export function findExportedFunctions(path: string, wanted: readonly string[]): ElfSymbols {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    const size = st.size;
    if (size < 64) throw new Error(`${path}: not an ELF file (too small)`);
    // A sparse file can claim any size: refuse files mostly made of holes.
    if (size > 1024 * 1024 && st.blocks * 512 < size / 4) throw new Error(`${path}: sparse file, not parsed`);
    const eh = readAt(fd, 0, 64);
    if (eh.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
    if (eh[4] !== 2 || eh[5] !== 1) throw new Error(`${path}: only little-endian ELF64 is supported`);
    const phoff = Number(eh.readBigUInt64LE(32));
    const shoff = Number(eh.readBigUInt64LE(40));
    const phentsize = eh.readUInt16LE(54);
    const phnum = eh.readUInt16LE(56);
    const shentsize = eh.readUInt16LE(58);
    const shnum = eh.readUInt16LE(60);
    if (shoff === 0 || shnum === 0 || shoff + shnum * shentsize > size || phoff + phnum * phentsize > size ||
        shnum * shentsize > MAX_HEADER_TABLE || phnum * phentsize > MAX_HEADER_TABLE || shentsize < 64 || phentsize < 56) {
      throw new Error(`${path}: ELF headers out of range`);
    }

    // Segments: virtual address -> file offset conversion for uprobes.
    const ph = readAt(fd, phoff, phnum * phentsize);
    const loads: Array<{ vaddr: number; memsz: number; offset: number }> = [];
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (ph.readUInt32LE(o) !== PT_LOAD) continue;
      loads.push({
        offset: Number(ph.readBigUInt64LE(o + 8)),
        vaddr: Number(ph.readBigUInt64LE(o + 16)),
        memsz: Number(ph.readBigUInt64LE(o + 40)),
      });
    }

    const sh = readAt(fd, shoff, shnum * shentsize);
    const functions = new Map<string, number>();
    const want = new Set(wanted);
    for (let i = 0; i < shnum; i++) {
      const o = i * shentsize;
      if (sh.readUInt32LE(o + 4) !== SHT_DYNSYM) continue;
      const symOff = Number(sh.readBigUInt64LE(o + 24));
      const symSize = Number(sh.readBigUInt64LE(o + 32));
      const link = sh.readUInt32LE(o + 40);
      const entsize = Number(sh.readBigUInt64LE(o + 56));
      if (entsize !== 24 || link >= shnum || symOff + symSize > size || symSize > MAX_SYMBOL_TABLE) throw new Error(`${path}: .dynsym out of range`);
      const lo = link * shentsize;
      const strOff = Number(sh.readBigUInt64LE(lo + 24));
      const strSize = Number(sh.readBigUInt64LE(lo + 32));
      if (strOff + strSize > size || strSize > MAX_SYMBOL_TABLE) throw new Error(`${path}: .dynstr out of range`);
      const syms = readAt(fd, symOff, symSize);
      const strs = readAt(fd, strOff, strSize);
      for (let s = 0; s + entsize <= symSize; s += entsize) {
        const info = syms[s + 4];
        const shndx = syms.readUInt16LE(s + 6);
        if ((info & 0xf) !== STT_FUNC || shndx === 0) continue; // undefined = imported, not ours
        const nameOff = syms.readUInt32LE(s);
        if (nameOff >= strSize) continue;
        const end = strs.indexOf(0, nameOff);
        let name = strs.toString('latin1', nameOff, end < 0 ? strSize : end);
        const at = name.indexOf('@');
        if (at >= 0) name = name.slice(0, at);
        if (!want.has(name) || functions.has(name)) continue;
        const value = Number(syms.readBigUInt64LE(s + 8));
        const seg = loads.find((l) => value >= l.vaddr && value < l.vaddr + l.memsz);
        if (!seg) continue;
        functions.set(name, value - seg.vaddr + seg.offset);
      }
    }
    return { functions };
  } finally {
    closeSync(fd);
  }
}
