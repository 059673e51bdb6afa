package dev.patchcord.core.wg;

import org.junit.jupiter.api.Test;

import static dev.patchcord.core.wg.Pair.SECOND;
import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.core.wg.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A peer's rx_bytes and tx_bytes as the kernel and wireguard-go count them: every WireGuard
 * message authenticated from or sent to the peer, handshake initiations and responses and
 * keepalives included, cookie replies not.
 */
class TransferCountersTest {
    /** A ping's IPv4 packet: 20 + 8 + 56 bytes. */
    private static final int PING = 84;
    /** Its transport message: the packet padded to 96, plus header and tag. */
    private static final int PING_MESSAGE = 16 + 96 + 16;

    @Test
    void tenPingsCountTheHandshakeAsTheKernelDoes() {
        Pair p = new Pair();
        byte[] request = ipv4(1, 2, PING - 20);
        byte[] reply = ipv4(2, 1, PING - 20);
        assertThat(p.seal(p.bAtA, request)).isNull();
        p.receive(p.b, p.poll(p.bAtA));
        p.receive(p.a, p.out.reply());
        assertThat(p.receive(p.b, p.poll(p.bAtA))).isEqualTo(request);
        assertThat(p.poll(p.bAtA)).as("the staged ping confirms the session: no keepalive").isNull();
        assertThat(p.receive(p.a, p.seal(p.aAtB, reply))).isEqualTo(reply);
        for (int i = 1; i < 10; i++) {
            p.now += SECOND;
            assertThat(p.receive(p.b, p.seal(p.bAtA, request))).isEqualTo(request);
            assertThat(p.receive(p.a, p.seal(p.aAtB, reply))).isEqualTo(reply);
        }
        // wg show after `ping -c 10` through the kernel or wireguard-go: 1372 received, 1428 sent.
        assertThat(p.bAtA.txBytes()).isEqualTo(INITIATION_SIZE + 10 * PING_MESSAGE).isEqualTo(1428);
        assertThat(p.bAtA.rxBytes()).isEqualTo(RESPONSE_SIZE + 10 * PING_MESSAGE).isEqualTo(1372);
        assertThat(p.aAtB.rxBytes()).isEqualTo(1428);
        assertThat(p.aAtB.txBytes()).isEqualTo(1372);
        assertThat(p.bAtA.txPackets()).as("packets stay transport messages").isEqualTo(10);
    }

    @Test
    void keepalivesAreCounted() {
        Pair p = new Pair();
        p.handshake();
        long bTx = p.aAtB.txBytes();
        long aRx = p.bAtA.rxBytes();
        p.now += KEEPALIVE_TIMEOUT;
        p.b.tick(p.now);
        byte[] keepalive = p.poll(p.aAtB);
        assertThat(keepalive).hasSize(32);
        p.receive(p.a, keepalive);
        assertThat(p.aAtB.txBytes() - bTx).isEqualTo(32);
        assertThat(p.bAtA.rxBytes() - aRx).isEqualTo(32);
    }

    @Test
    void refusedHandshakesAndCookieRepliesAreNotCounted() {
        Pair p = new Pair(null, 0); // B demands cookies from the first message
        p.seal(p.bAtA, ipv4(1, 2, 8));
        byte[] first = p.poll(p.bAtA);
        p.receive(p.b, first);
        assertThat(p.out.reply()).hasSize(COOKIE_REPLY_SIZE);
        p.receive(p.a, p.out.reply());
        assertThat(p.aAtB.rxBytes()).as("an initiation answered with a cookie").isZero();
        assertThat(p.aAtB.txBytes()).as("the cookie reply").isZero();
        assertThat(p.bAtA.rxBytes()).as("the cookie reply").isZero();
        assertThat(p.bAtA.txBytes()).as("the initiation went out").isEqualTo(INITIATION_SIZE);

        p.now += REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX;
        p.bAtA.tick(p.now);
        byte[] retry = p.poll(p.bAtA);
        p.receive(p.b, retry);
        assertThat(p.out.reply()).hasSize(RESPONSE_SIZE);
        assertThat(p.aAtB.rxBytes()).isEqualTo(INITIATION_SIZE);
        assertThat(p.aAtB.txBytes()).isEqualTo(RESPONSE_SIZE);
        p.now += SECOND;
        p.receive(p.b, retry);
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        assertThat(p.aAtB.rxBytes()).as("a replayed initiation").isEqualTo(INITIATION_SIZE);
    }

    @Test
    void aMessageTheShellCouldNotSendIsTakenBack() {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 8));
        byte[] initiation = p.poll(p.bAtA);
        assertThat(p.bAtA.txBytes()).isEqualTo(INITIATION_SIZE);
        p.bAtA.unsent(initiation.length); // no endpoint yet, say
        assertThat(p.bAtA.txBytes()).isZero();
    }
}
