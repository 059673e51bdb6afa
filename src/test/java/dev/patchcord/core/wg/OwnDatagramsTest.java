package dev.patchcord.core.wg;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class OwnDatagramsTest {
    static final int PORT = 51820;

    /** Real messages from a handshake between two nodes: an initiation, a response, transport data. */
    private static final byte[] INITIATION, RESPONSE, DATA, KEEPALIVE;

    static {
        Pair p = new Pair();
        p.seal(p.bAtA, Pair.ipv4(1, 2, 40));
        INITIATION = p.poll(p.bAtA);
        p.receive(p.b, INITIATION);
        RESPONSE = p.out.reply();
        p.receive(p.a, RESPONSE);
        p.poll(p.bAtA);
        DATA = p.seal(p.bAtA, Pair.ipv4(1, 2, 1000));
        KEEPALIVE = p.seal(p.bAtA, new byte[0]);
    }

    /** {@code message} as a UDP datagram from {@code sport} to 192.0.2.7:{@code dport}, over IPv4. */
    static byte[] udp4(int sport, int dport, byte[] message) {
        byte[] p = new byte[28 + message.length];
        p[0] = 0x45;
        p[2] = (byte) (p.length >> 8);
        p[3] = (byte) p.length;
        p[8] = 64;
        p[9] = 17;
        p[12] = 10; p[15] = 1;
        p[16] = (byte) 192; p[18] = 2; p[19] = 7;
        udp(p, 20, sport, dport, message);
        return p;
    }

    /** The same over IPv6, from fd00::1 to 2001:db8::7. */
    static byte[] udp6(int sport, int dport, byte[] message) {
        byte[] p = new byte[48 + message.length];
        p[0] = 0x60;
        p[4] = (byte) ((8 + message.length) >> 8);
        p[5] = (byte) (8 + message.length);
        p[6] = 17;
        p[7] = 64;
        p[8] = (byte) 0xfd; p[23] = 1;
        p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = (byte) 0xb8; p[39] = 7;
        udp(p, 40, sport, dport, message);
        return p;
    }

    private static void udp(byte[] p, int at, int sport, int dport, byte[] message) {
        int len = 8 + message.length;
        p[at] = (byte) (sport >> 8);
        p[at + 1] = (byte) sport;
        p[at + 2] = (byte) (dport >> 8);
        p[at + 3] = (byte) dport;
        p[at + 4] = (byte) (len >> 8);
        p[at + 5] = (byte) len;
        System.arraycopy(message, 0, p, at + 8, message.length);
    }

    private static int check(byte[] packet) {
        return OwnDatagrams.udpHeader(ByteBuffer.wrap(packet), 0, packet.length, PORT);
    }

    @Test
    void everyKindOfMessageFromOurPortIsRecognised() {
        assertThat(INITIATION).hasSize(Protocol.INITIATION_SIZE);
        assertThat(RESPONSE).hasSize(Protocol.RESPONSE_SIZE);
        for (byte[] m : new byte[][]{INITIATION, RESPONSE, DATA, KEEPALIVE}) {
            assertThat(check(udp4(PORT, 9, m))).isEqualTo(20);
            assertThat(check(udp6(PORT, 9, m))).isEqualTo(40);
        }
        byte[] cookie = new byte[Protocol.COOKIE_REPLY_SIZE];
        cookie[0] = Protocol.MESSAGE_COOKIE_REPLY;
        assertThat(check(udp4(PORT, 9, cookie))).isEqualTo(20);
    }

    @Test
    void destinationAddressAndPort() {
        byte[] p4 = udp4(PORT, 40000, DATA);
        ByteBuffer b4 = ByteBuffer.wrap(p4);
        assertThat(OwnDatagrams.destinationPort(b4, 20)).isEqualTo(40000);
        assertThat(OwnDatagrams.destinationAddress(b4, 0)).isEqualTo(16);
        byte[] p6 = udp6(PORT, 1, DATA);
        assertThat(OwnDatagrams.destinationAddress(ByteBuffer.wrap(p6), 0)).isEqualTo(24);
        // At an offset, as the packet path reads it (after the room for the WireGuard header).
        ByteBuffer shifted = ByteBuffer.allocate(p4.length + 16).put(16, p4);
        assertThat(OwnDatagrams.udpHeader(shifted, 16, p4.length, PORT)).isEqualTo(36);
        assertThat(OwnDatagrams.destinationAddress(shifted, 16)).isEqualTo(32);
    }

    @Test
    void anotherPortOrProtocolIsNotOurs() {
        assertThat(check(udp4(PORT + 1, 9, DATA))).isEqualTo(-1);
        assertThat(check(udp4(9, PORT, DATA))).as("to our port, as a peer's packets are").isEqualTo(-1);
        byte[] tcp = udp4(PORT, 9, DATA);
        tcp[9] = 6;
        assertThat(check(tcp)).isEqualTo(-1);
        byte[] tcp6 = udp6(PORT, 9, DATA);
        tcp6[6] = 6;
        assertThat(check(tcp6)).isEqualTo(-1);
    }

    @Test
    void aPayloadThatIsNoWireGuardMessageIsNotOurs() {
        byte[] dns = new byte[40];
        dns[0] = 0x12;
        assertThat(check(udp4(PORT, 53, dns))).isEqualTo(-1);
        byte[] reserved = DATA.clone();
        reserved[2] = 1;
        assertThat(check(udp4(PORT, 9, reserved))).isEqualTo(-1);
        byte[] type5 = DATA.clone();
        type5[0] = 5;
        assertThat(check(udp4(PORT, 9, type5))).isEqualTo(-1);
        assertThat(check(udp4(PORT, 9, Arrays.copyOf(INITIATION, 147)))).as("initiation of the wrong size").isEqualTo(-1);
        assertThat(check(udp4(PORT, 9, Arrays.copyOf(RESPONSE, 93)))).isEqualTo(-1);
        assertThat(check(udp4(PORT, 9, Arrays.copyOf(DATA, 31)))).as("shorter than any transport message").isEqualTo(-1);
    }

    @Test
    void firstFragmentsAreRecognisedLaterOnesAreNot() {
        // IPv4: a first fragment holds the UDP header, whose length names the whole datagram.
        byte[] whole = udp4(PORT, 9, DATA);
        byte[] first = Arrays.copyOf(whole, 20 + 8 + 200);
        first[6] = 0x20; // more fragments
        assertThat(check(first)).isEqualTo(20);
        byte[] later = whole.clone();
        later[7] = 26; // offset 208
        assertThat(check(later)).isEqualTo(-1);
        // IPv6: the fragment header comes first.
        byte[] u6 = udp6(PORT, 9, DATA);
        byte[] f6 = new byte[u6.length + 8];
        System.arraycopy(u6, 0, f6, 0, 40);
        System.arraycopy(u6, 40, f6, 48, u6.length - 40);
        f6[6] = 44;
        f6[40] = 17;
        f6[43] = 1; // offset 0, more fragments
        assertThat(check(f6)).isEqualTo(48);
        f6[42] = 0x01; // offset 32
        assertThat(check(f6)).isEqualTo(-1);
    }

    @Test
    void cutAndRandomPacketsNeverThrow() {
        for (byte[] whole : new byte[][]{udp4(PORT, 9, DATA), udp6(PORT, 9, DATA)}) {
            for (int len = 0; len < whole.length; len++) {
                int r = OwnDatagrams.udpHeader(ByteBuffer.wrap(whole), 0, len, PORT);
                // The header and the message's first four bytes suffice; less is not recognised.
                int header = (whole[0] & 0xf0) == 0x40 ? 20 : 40;
                assertThat(r).as("length " + len).isEqualTo(len >= header + 12 ? header : -1);
            }
        }
        Random rnd = new Random(8);
        for (int i = 0; i < 200_000; i++) {
            int len = rnd.nextInt(80);
            byte[] p = new byte[len];
            rnd.nextBytes(p);
            if (len > 0 && rnd.nextBoolean()) {
                p[0] = (byte) (rnd.nextBoolean() ? 0x45 : 0x60);
            }
            int r = OwnDatagrams.udpHeader(ByteBuffer.wrap(p), 0, len, rnd.nextInt(65536));
            assertThat(r == -1 || r >= 20 && r <= len - 12).as("result " + r + " for length " + len).isTrue();
        }
    }
}
