package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;
import org.junit.jupiter.api.Test;

import static dev.patchcord.core.wg.Pair.SECOND;
import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.core.wg.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Under load the responder demands cookies (MAC2) and rate limits each source. */
class CookieTest {

    @Test
    void underLoadAnInitiationWithoutCookieGetsACookieReplyAndTheRetrySucceeds() {
        Pair p = new Pair(null, 0); // every handshake message counts as load
        p.seal(p.bAtA, ipv4(1, 2, 8));
        byte[] first = p.poll(p.bAtA);
        p.receive(p.b, first);
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.REPLY);
        assertThat(p.out.reply()).hasSize(COOKIE_REPLY_SIZE);
        assertThat(p.b.counters().dropped(Drop.COOKIE_SENT)).isEqualTo(1);

        p.receive(p.a, p.out.reply());
        assertThat(p.out.kind()).as("cookie consumed: %s", p.out.drop()).isEqualTo(Outcome.Kind.NONE);

        // The retry carries MAC2 made with the cookie, and is answered with a handshake response.
        p.now += REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX;
        p.bAtA.tick(p.now);
        byte[] retry = p.poll(p.bAtA);
        assertThat(retry).hasSize(INITIATION_SIZE);
        assertThat(java.util.Arrays.copyOfRange(retry, INIT_MAC2, INIT_MAC2 + 16)).isNotEqualTo(new byte[16]);
        p.receive(p.b, retry);
        assertThat(p.out.reply()).hasSize(RESPONSE_SIZE);
        p.receive(p.a, p.out.reply());
        assertThat(p.bAtA.hasSession(p.now)).isTrue();
    }

    @Test
    void aCookieReplyForSomeoneElseIsRefused() {
        Pair p = new Pair(null, 0);
        Pair other = new Pair(null, 0, 99);
        p.seal(p.bAtA, ipv4(1, 2, 8));
        p.poll(p.bAtA);
        other.seal(other.bAtA, ipv4(1, 2, 8));
        other.receive(other.b, other.poll(other.bAtA));
        byte[] foreign = other.out.reply().clone();
        // Point it at A's pending handshake: the index matches, the sealed cookie does not.
        System.arraycopy(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(p.bAtA.handshake.noise.localIndex).array(), 0, foreign, COOKIE_RECEIVER, 4);
        p.receive(p.a, foreign);
        assertThat(p.out.drop()).isEqualTo(Drop.BAD_AUTH);
    }
}
