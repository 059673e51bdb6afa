package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.HandshakeEvents;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code -d} lines for handshake events: one per event, naming the peer as other -d lines do. */
class HandshakeLogTest {
    @Test
    void oneLinePerEventWithTheShortenedKey() {
        SplittableRandom rng = new SplittableRandom(3);
        Node node = new Node(X25519.generatePrivate(rng), rng, new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        byte[] key = X25519.publicKey(X25519.generatePrivate(rng));
        Peer peer = node.addPeer(key, null);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        HandshakeLog log = new HandshakeLog(new PrintStream(bytes, true, StandardCharsets.UTF_8));

        log.initiationSent(peer, HandshakeEvents.Initiation.NEW, 0);
        log.initiationSent(peer, HandshakeEvents.Initiation.REKEY, 0);
        log.initiationSent(peer, HandshakeEvents.Initiation.RETRY, 2);
        log.initiationReceived(peer);
        log.responseSent(peer);
        log.responseReceived(peer);
        log.sessionEstablished(peer, true);
        log.sessionEstablished(peer, false);
        log.rekey(peer, HandshakeEvents.Rekey.AGE);
        log.rekey(peer, HandshakeEvents.Rekey.MESSAGES);
        log.rekey(peer, HandshakeEvents.Rekey.EXPIRING);

        String p = "peer " + Keys.toBase64(key).substring(0, 8) + "…: ";
        assertThat(bytes.toString(StandardCharsets.UTF_8).lines()).containsExactly(
                p + "handshake initiation sent",
                p + "handshake initiation sent (rekey)",
                p + "handshake initiation sent (retry 2)",
                p + "handshake initiation received",
                p + "handshake response sent",
                p + "handshake response received",
                p + "session established (initiator)",
                p + "session established (responder)",
                p + "rekey (the session is 120 s old)",
                p + "rekey (the session used 2^60 message counters)",
                p + "rekey (the session expires within 15 s)");
    }
}
