package dev.patchcord.device;

import dev.patchcord.core.wg.HandshakeEvents;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.Protocol;

import java.io.PrintStream;
import java.util.concurrent.TimeUnit;

/**
 * {@code -d}: one line per handshake step, e.g. {@code peer ABCD1234…: handshake initiation sent
 * (rekey)}. Lines are built only here, so an interface without {@code -d} builds none; each is
 * one {@code println}, which a {@link PrintStream} does whole, so lines from several threads do
 * not mix.
 */
final class HandshakeLog implements HandshakeEvents {
    private final PrintStream out;

    HandshakeLog(PrintStream out) {
        this.out = out;
    }

    @Override
    public void initiationSent(Peer peer, Initiation why, int retries) {
        line(peer, "handshake initiation sent" + switch (why) {
            case NEW -> "";
            case REKEY -> " (rekey)";
            case RETRY -> " (retry " + retries + ")";
        });
    }

    @Override
    public void initiationReceived(Peer peer) {
        line(peer, "handshake initiation received");
    }

    @Override
    public void responseSent(Peer peer) {
        line(peer, "handshake response sent");
    }

    @Override
    public void responseReceived(Peer peer) {
        line(peer, "handshake response received");
    }

    @Override
    public void sessionEstablished(Peer peer, boolean initiator) {
        line(peer, "session established (" + (initiator ? "initiator" : "responder") + ")");
    }

    @Override
    public void rekey(Peer peer, Rekey why) {
        line(peer, "rekey (" + switch (why) {
            case AGE -> "the session is " + seconds(Protocol.REKEY_AFTER_TIME) + " s old";
            case MESSAGES -> "the session used 2^60 message counters";
            case EXPIRING -> "the session expires within "
                    + seconds(Protocol.KEEPALIVE_TIMEOUT + Protocol.REKEY_TIMEOUT) + " s";
        } + ")");
    }

    private static long seconds(long nanos) {
        return TimeUnit.NANOSECONDS.toSeconds(nanos);
    }

    private void line(Peer peer, String what) {
        out.println("peer " + WgTunnel.shortKey(peer) + ": " + what);
    }
}
