package dev.patchcord.device;

import dev.patchcord.core.assign.AddressMessage;
import dev.patchcord.core.wg.Peer;

/**
 * Sends address-assignment messages (from the address service or client) on whatever thread asks,
 * with buffers of its own made on first use: such messages are rare, so one set guarded by a lock
 * serves every caller.
 */
final class ControlSender {
    private final WgTunnel tunnel;
    private Buffers buffers;

    ControlSender(WgTunnel tunnel) {
        this.tunnel = tunnel;
    }

    /** Encrypts {@code message} to {@code peer} and sends it (or stages it and starts a handshake). */
    void send(Peer peer, AddressMessage message) {
        Buffers b;
        synchronized (this) {
            if (buffers == null) {
                buffers = new Buffers(tunnel.arena(), tunnel.newCipher());
            }
            b = buffers;
        }
        synchronized (b) {
            int len = AddressMessage.encode(message, b.view, WgTunnel.HEADROOM);
            tunnel.sealAndSend(peer, len, b.seg, b.view, b.cipher);
        }
    }
}
