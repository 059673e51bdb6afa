package dev.patchcord.device;

import dev.patchcord.core.wg.DataCipher;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One thread's working set for the tunnel: a packet buffer, a second buffer for control traffic
 * sent while the first is in use, a cipher and scratch space. Allocated once per thread, so the
 * packet path allocates none of it.
 */
final class Buffers {
    static final int SIZE = 65536 + 64;

    final MemorySegment seg;
    final ByteBuffer view;
    final MemorySegment control;
    final ByteBuffer controlView;
    final DataCipher cipher;
    final byte[] scratch = new byte[SIZE];

    Buffers(Arena arena, DataCipher cipher) {
        this.cipher = cipher;
        seg = arena.allocate(SIZE, 64);
        view = seg.asByteBuffer();
        control = arena.allocate(SIZE, 64);
        controlView = control.asByteBuffer();
    }
}
