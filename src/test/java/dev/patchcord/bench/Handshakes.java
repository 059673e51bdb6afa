package dev.patchcord.bench;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/** Two nodes in memory and the handshake between them, for the benchmarks of the core. */
final class Handshakes {
    private Handshakes() {
    }

    record Established(Node a, Node b, Peer bAtA, Peer aAtB) {}

    /** Nodes A (10.0.0.1) and B (10.0.0.2), each the other's only peer, with no session yet. */
    static Established pair(SplittableRandom rng, byte[] keyA, byte[] keyB) {
        Node a = new Node(keyA, rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Node b = new Node(keyB, rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Peer bAtA = a.addPeer(b.publicKey(), null);
        Peer aAtB = b.addPeer(a.publicKey(), null);
        a.allowedIps().add(Cidr.parse("10.0.0.2/32"), bAtA);
        b.allowedIps().add(Cidr.parse("10.0.0.1/32"), aAtB);
        return new Established(a, b, bAtA, aAtB);
    }

    /** A pair after a complete handshake started by A; A's first packet has been delivered. */
    static Established establish(SplittableRandom rng, long now, long epoch) {
        Established s = pair(rng, X25519.generatePrivate(rng.split()), X25519.generatePrivate(rng.split()));
        handshake(s, now, epoch, new DataCipher(), new Outcome(), ByteBuffer.allocateDirect(2048));
        return s;
    }

    /** Runs initiation, response and first data packet between the pair; fails loudly if any step does. */
    static void handshake(Established s, long now, long epoch, DataCipher cipher, Outcome out, ByteBuffer buf) {
        Node.Source from = () -> new byte[] {10, 0, 0, 9};
        byte[] packet = ipv4(1, 2, 20);
        buf.put(16, packet);
        if (s.bAtA().seal(buf, 0, packet.length, now, cipher) != 0) {
            throw new IllegalStateException("a session existed already");
        }
        int n = s.bAtA().poll(buf, now, epoch, cipher);
        s.b().receive(buf, 0, n, from, now, epoch, cipher, out);
        if (out.kind() != Outcome.Kind.REPLY) {
            throw new IllegalStateException("no response: " + out.drop());
        }
        byte[] response = out.reply();
        buf.put(0, response);
        s.a().receive(buf, 0, response.length, from, now, epoch, cipher, out);
        if (!out.authenticated()) {
            throw new IllegalStateException("response refused: " + out.drop());
        }
        n = s.bAtA().poll(buf, now, epoch, cipher);
        s.b().receive(buf, 0, n, from, now, epoch, cipher, out);
        if (out.kind() != Outcome.Kind.DELIVER) {
            throw new IllegalStateException("first packet not delivered: " + out.drop());
        }
    }

    /** An IPv4/UDP packet between 10.0.0.src and 10.0.0.dst with {@code payload} bytes. */
    static byte[] ipv4(int src, int dst, int payload) {
        byte[] p = new byte[20 + payload];
        p[0] = 0x45;
        p[2] = (byte) (p.length >> 8);
        p[3] = (byte) p.length;
        p[8] = 64;
        p[9] = 17;
        p[12] = 10;
        p[15] = (byte) src;
        p[16] = 10;
        p[19] = (byte) dst;
        return p;
    }
}
