package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.offload.GroCoalescer;
import dev.patchcord.core.offload.VirtioNetHdr;
import dev.patchcord.sys.Linux;
import dev.patchcord.tun.PacketDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Writes the packets of a received batch to a TUN opened with virtio-net headers, merging the TCP
 * segments (and, where the kernel takes them, the UDP datagrams) of each flow into super-packets
 * first ({@link GroCoalescer}), so the kernel sees a few large packets instead of many small ones:
 * a tunnel nested inside this one gets its datagrams a batch per write.
 *
 * <p>A merged flow grows in a buffer of its own: each packet is first copied to a staging slot
 * with 64 KiB of room, because received datagrams lie too close together to grow in place. The
 * owner adds the packets of a batch with {@link #add} and ends the batch with {@link #flush}.
 *
 * <p>On a TAP the same is done with Ethernet frames ({@link GroCoalescer#addFrame}): frames that
 * are not IP go through whole, in order.
 */
final class CoalescingWriter {
    /** Packets staged per batch, and so per flush at most. */
    static final int SLOTS = 128;
    /** Room in front of a staged packet for its virtio header. */
    private static final int HEADROOM = 16;
    private static final int STAGE_SIZE = 65536 + 64;

    private final PacketDevice tun;
    private final Counters counters;
    private final GroCoalescer coalescer;
    /** Whether what is added are Ethernet frames (a TAP) rather than IP packets. */
    private final boolean frames;
    private final MemorySegment stage;
    private final ByteBuffer[] stageViews = new ByteBuffer[SLOTS];
    private int staged;

    CoalescingWriter(PacketDevice tun, Counters counters, Arena arena) {
        this(tun, counters, arena, false);
    }

    /** @param frames whether the device is a TAP: what is added are Ethernet frames */
    CoalescingWriter(PacketDevice tun, Counters counters, Arena arena, boolean frames) {
        if (!tun.vnetHeader()) {
            throw new IllegalArgumentException("coalesced writes need a TUN with virtio-net headers");
        }
        assert HEADROOM >= VirtioNetHdr.SIZE;
        this.tun = tun;
        this.counters = counters;
        this.frames = frames;
        // UDP super-datagrams only where the kernel cuts them (it took USO, Linux 6.2 on); an
        // older kernel refuses a GSO_UDP_L4 write.
        int uso = Linux.TUN_F_USO4 | Linux.TUN_F_USO6;
        this.coalescer = new GroCoalescer(SLOTS, (tun.offloads() & uso) == uso);
        this.stage = arena.allocate((long) STAGE_SIZE * SLOTS, 64);
        for (int i = 0; i < SLOTS; i++) {
            stageViews[i] = stage.asSlice((long) i * STAGE_SIZE, STAGE_SIZE).asByteBuffer();
        }
    }

    /** Stages one IP packet or frame (counted as received) for the next {@link #flush}; a full stage is flushed first. */
    void add(ByteBuffer view, int off, int len) {
        if (staged == SLOTS) {
            flush();
        }
        ByteBuffer to = stageViews[staged++];
        to.put(HEADROOM, view, off, len);
        // Each staged packet makes at most one output and the coalescer has one per staging slot,
        // so with the flush above it always has room.
        if (!(frames ? coalescer.addFrame(to, HEADROOM, len) : coalescer.add(to, HEADROOM, len))) {
            throw new IllegalStateException("the coalescer has fewer outputs than staging slots");
        }
        counters.received(len);
    }

    /** Writes what the coalescer made of the staged packets: each output one write with its virtio header. */
    void flush() {
        if (staged == 0) {
            return;
        }
        int outputs = coalescer.flush();
        for (int i = 0; i < outputs; i++) {
            int slot = indexOf(coalescer.buffer(i));
            if (tun.write(stage, (long) slot * STAGE_SIZE + coalescer.offset(i), coalescer.length(i)) < 0) {
                counters.drop(Drop.DEVICE_ERROR, coalescer.segments(i));
            }
        }
        coalescer.clear();
        staged = 0;
    }

    private int indexOf(ByteBuffer buf) {
        for (int i = 0; i < staged; i++) {
            if (stageViews[i] == buf) {
                return i;
            }
        }
        throw new IllegalStateException("an output of the coalescer is not in a staging slot");
    }
}
