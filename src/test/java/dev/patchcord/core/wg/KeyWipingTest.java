package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.core.wg.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Session keys, handshake secrets and per-peer secrets are overwritten with zeros once done with. */
class KeyWipingTest {

    private static void at(Pair p, long time) {
        p.now = time;
        p.a.tick(time);
        p.b.tick(time);
    }

    @Test
    void sessionKeysAreZeroAfterExpiry() {
        Pair p = new Pair();
        p.handshake();
        Keypair atA = p.bAtA.keypairs.current;
        Keypair atB = p.aAtB.keypairs.current;
        assertThat(atA.keysAreZero()).isFalse();
        assertThat(atB.keysAreZero()).isFalse();
        byte[] late = p.seal(p.bAtA, ipv4(1, 2, 8));

        at(p, atA.created + REJECT_AFTER_TIME - 1);
        assertThat(atA.keysAreZero()).as("still usable one nanosecond before expiry").isFalse();
        assertThat(p.receive(p.b, late)).as("a message just before expiry still opens").isNotNull();

        at(p, atA.created + REJECT_AFTER_TIME);
        assertThat(atA.keysAreZero()).isTrue();
        assertThat(atB.keysAreZero()).isTrue();
        assertThat(atA.destroyed()).isTrue();
        // The expired session still answers late messages with the right reason.
        assertThat(p.receive(p.b, late)).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.EXPIRED_KEY);
        // A new packet starts a new handshake rather than using the wiped key.
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).isNull();
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
    }

    @Test
    void retiredSessionsAreWipedAtRotation() {
        Pair p = new Pair();
        p.handshake();
        Keypair first = p.bAtA.keypairs.current;
        // Two more handshakes started by A: the first session becomes previous, then goes. The
        // clock moves without running the timers, so only the rotation can wipe it.
        for (int round = 0; round < 2; round++) {
            p.now += REKEY_AFTER_TIME;
            assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).as("rekey requested, still sent").isNotNull();
            byte[] initiation = p.poll(p.bAtA);
            assertThat(initiation).hasSize(INITIATION_SIZE);
            p.receive(p.b, initiation);
            p.receive(p.a, p.out.reply());
            assertThat(p.out.authenticated()).isTrue();
            byte[] keepalive = p.poll(p.bAtA);
            p.receive(p.b, keepalive);
            assertThat(p.out.authenticated()).isTrue();
            if (round == 0) {
                assertThat(p.bAtA.keypairs.current).isNotSameAs(first);
                assertThat(first.keysAreZero()).as("previous session kept for late packets").isFalse();
            }
        }
        assertThat(first.keysAreZero()).isTrue();
        assertThat(p.bAtA.keypairs.current.keysAreZero()).isFalse();
        assertThat(p.a.indices.get(first.localIndex)).isNull();
    }

    @Test
    void removingAPeerWipesItsSessionsHandshakeAndLongLivedSecrets() throws Exception {
        byte[] psk = new byte[KEY_SIZE];
        new SplittableRandom(3).nextBytes(psk);
        Pair p = new Pair(psk, Node.DEFAULT_LOAD_THRESHOLD);
        p.handshake();
        Keypair kp = p.bAtA.keypairs.current;
        byte[] staticStatic = (byte[]) field(p.bAtA.handshake, "staticStatic");
        byte[] presharedKey = (byte[]) field(p.bAtA.handshake, "presharedKey");
        assertThat(Keys.isZero(staticStatic)).isFalse();
        assertThat(presharedKey).isEqualTo(psk);
        // A handshake in progress as well, so that its state is there to wipe.
        at(p, p.now + REKEY_AFTER_TIME);
        p.seal(p.bAtA, ipv4(1, 2, 8));
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
        byte[] chainingKey = p.bAtA.handshake.noise.chainingKey;
        byte[] ephemeral = p.bAtA.handshake.noise.localEphemeral;
        assertThat(Keys.isZero(chainingKey)).isFalse();

        p.a.removePeer(p.bAtA);

        assertThat(kp.keysAreZero()).isTrue();
        assertThat(Keys.isZero(chainingKey)).isTrue();
        assertThat(Keys.isZero(ephemeral)).isTrue();
        assertThat(Keys.isZero(staticStatic)).isTrue();
        assertThat(Keys.isZero(presharedKey)).isTrue();
        assertThat(p.bAtA.handshake.noise.chainingKey).isNull();
    }

    @Test
    void aReplacedPresharedKeyIsWiped() throws Exception {
        Pair p = new Pair();
        byte[] first = new byte[KEY_SIZE];
        first[0] = 1;
        p.bAtA.setPresharedKey(first);
        byte[] held = (byte[]) field(p.bAtA.handshake, "presharedKey");
        assertThat(held).isEqualTo(first);
        p.bAtA.setPresharedKey(null);
        assertThat(Keys.isZero(held)).isTrue();
        assertThat(first[0]).as("the caller's array is the caller's").isEqualTo((byte) 1);
    }

    @Test
    void handshakeIntermediatesAreWipedWhenTheSessionIsDerived() {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 8));
        byte[] initiation = p.poll(p.bAtA);
        byte[] chainingKey = p.bAtA.handshake.noise.chainingKey;
        byte[] ephemeral = p.bAtA.handshake.noise.localEphemeral;
        p.receive(p.b, initiation);
        p.receive(p.a, p.out.reply());
        assertThat(p.out.authenticated()).isTrue();
        assertThat(Keys.isZero(chainingKey)).isTrue();
        assertThat(Keys.isZero(ephemeral)).isTrue();
        assertThat(p.bAtA.handshake.noise.state).isEqualTo(Handshake.State.NONE);
    }

    @Test
    void aWipedKeyNeverSealsAndNeverOpens() {
        byte[] raw = new byte[KEY_SIZE];
        new SplittableRandom(9).nextBytes(raw);
        SessionKey key = new SessionKey(raw);
        DataCipher cipher = new DataCipher();
        ByteBuffer buf = ByteBuffer.allocate(256);
        for (int i = 0; i < 64; i++) {
            buf.put(i, (byte) (i + 1));
        }
        cipher.seal(key, 0, buf, 0, 48);
        byte[] sealed = new byte[64];
        buf.get(0, sealed);
        assertThat(cipher.open(key, 0, ByteBuffer.wrap(sealed.clone()), 0, 64)).isEqualTo(48);

        key.destroy();
        assertThat(key.isZero()).isTrue();
        assertThat(key.getEncoded()).isNull();
        assertThat(cipher.open(key, 0, ByteBuffer.wrap(sealed.clone()), 0, 64)).isEqualTo(-1);
        for (int i = 0; i < 64; i++) {
            buf.put(i, (byte) (i + 1));
        }
        cipher.seal(key, 1, buf, 0, 48);
        byte[] after = new byte[64];
        buf.get(0, after);
        assertThat(after).as("no plaintext and no ciphertext under a zero key").containsOnly(0);
    }

    @Test
    void aCipherThatForgotItsKeyStillWorksWithTheNext() {
        DataCipher cipher = new DataCipher();
        byte[] raw = new byte[KEY_SIZE];
        raw[5] = 5;
        SessionKey key = new SessionKey(raw);
        ByteBuffer buf = ByteBuffer.allocate(64);
        cipher.seal(key, 7, buf, 0, 16);
        cipher.forgetKey();
        byte[] sealed = new byte[32];
        buf.get(0, sealed);
        assertThat(cipher.open(key, 7, ByteBuffer.wrap(sealed), 0, 32)).isEqualTo(16);
    }

    private static Object field(Object o, String name) throws ReflectiveOperationException {
        Field f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }
}
