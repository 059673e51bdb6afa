package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.transport.UdpBatch;

import java.lang.foreign.MemorySegment;

/**
 * Turns datagrams laid out in fixed-stride slots of one buffer into UDP GSO messages of a
 * {@link UdpBatch}, and counts what a batch send did. Shared by the encrypted and the plain
 * batched paths, which differ only in how they fill the slots.
 *
 * <p>GSO wants the datagrams of one message back to back and all of one size but the last, so
 * following datagrams to the same destination are moved left to lie right after the first while
 * their length matches; a shorter one ends the message.
 */
final class GsoMessages {
    /**
     * The most one GSO message may carry: its datagrams with their UDP and IP headers (IPv6 at
     * most) must fit in one 64 KiB IP packet.
     */
    static final int MAX_BYTES = 65535 - 40 - 8;

    private GsoMessages() {
    }

    /**
     * Puts slot {@code k}'s datagram, and as many of slots {@code k+1 .. limit-1} as may join it,
     * into message {@code message} of {@code batch} (whose slots are all attached to {@code out}).
     * The caller has checked that every slot in {@code [k, limit)} has a datagram for the same
     * destination; it sets the message's address itself.
     *
     * @param lengths each slot's datagram length, all positive in {@code [k, limit)}
     * @return the first slot not in the message
     */
    static int pack(MemorySegment out, int stride, int[] lengths, int k, int limit, UdpBatch batch, int message) {
        int len = lengths[k];
        long start = (long) k * stride;
        long end = start + len;
        int j = k + 1;
        while (j < limit && j - k < UdpBatch.MAX_SEGMENTS && lengths[j] <= len && end - start + lengths[j] <= MAX_BYTES) {
            MemorySegment.copy(out, (long) j * stride, out, end, lengths[j]);
            end += lengths[j];
            boolean last = lengths[j] < len;
            j++;
            if (last) {
                break;
            }
        }
        batch.set(message, (int) start, (int) (end - start), j - k > 1 ? len : 0);
        return j;
    }

    /**
     * Sends messages {@code [0, messages)} and counts each datagram as sent or as a send error.
     */
    static void send(dev.patchcord.transport.Transport socket, UdpBatch batch, int messages, Counters counters) {
        if (messages == 0) {
            return;
        }
        int sent = socket.send(batch, messages);
        for (int i = 0; i < messages; i++) {
            int datagrams = batch.datagrams(i);
            if (sent < 0 || batch.status(i) < 0) {
                counters.drop(Drop.SEND_ERROR, datagrams);
                continue;
            }
            counters.sent(datagrams, batch.length(i));
        }
    }
}
