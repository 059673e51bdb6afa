package dev.patchcord.core.mesh;

import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DirectoryAuthTest {
    private final SplittableRandom rng = new SplittableRandom(5);
    private final byte[] node = X25519.generatePrivate(rng);
    private final byte[] dir = X25519.generatePrivate(rng);
    private final byte[] other = X25519.generatePrivate(rng);

    @Test
    void bothSidesDeriveTheSameKeyAndNoOtherKeyHolderDoes() {
        byte[] atNode = DirectoryAuth.pairKey(node, X25519.publicKey(dir));
        byte[] atDir = DirectoryAuth.pairKey(dir, X25519.publicKey(node));
        assertThat(atNode).hasSize(32).isEqualTo(atDir);
        assertThat(DirectoryAuth.pairKey(other, X25519.publicKey(dir))).isNotEqualTo(atDir);
    }

    @Test
    void aMacVerifiesOnlyForItsMessageAndKey() {
        byte[] k = DirectoryAuth.pairKey(node, X25519.publicKey(dir));
        byte[] msg = "{\"time\":1}".getBytes();
        byte[] mac = DirectoryAuth.mac(k, msg);
        assertThat(mac).hasSize(DirectoryAuth.MAC_SIZE);
        assertThat(DirectoryAuth.verify(k, msg, mac)).isTrue();
        byte[] changed = msg.clone();
        changed[2] ^= 1;
        assertThat(DirectoryAuth.verify(k, changed, mac)).isFalse();
        assertThat(DirectoryAuth.verify(DirectoryAuth.pairKey(other, X25519.publicKey(dir)), msg, mac)).isFalse();
        assertThat(DirectoryAuth.verify(k, msg, Arrays.copyOf(mac, 15))).isFalse();
        assertThat(DirectoryAuth.verify(k, msg, null)).isFalse();
    }

    @Test
    void aLowOrderPublicKeyIsRefused() {
        assertThatThrownBy(() -> DirectoryAuth.pairKey(node, new byte[32])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aProbeRoundTripsAndItsMacCoversKeyAndTime() {
        byte[] k = DirectoryAuth.pairKey(node, X25519.publicKey(dir));
        byte[] probe = Probe.encode(X25519.publicKey(node), 1_763_780_000_123L, k);
        assertThat(probe).hasSize(Probe.SIZE);
        assertThat(probe[0] & 0xff).isEqualTo(0xF0); // never a WireGuard message type
        Probe.Decoded d = Probe.decode(probe, probe.length);
        assertThat(d.publicKey()).isEqualTo(X25519.publicKey(node));
        assertThat(d.timeMillis()).isEqualTo(1_763_780_000_123L);
        assertThat(DirectoryAuth.verify(k, d.signed(), d.mac())).isTrue();
        probe[40] ^= 1; // the time
        Probe.Decoded bad = Probe.decode(probe, probe.length);
        assertThat(DirectoryAuth.verify(k, bad.signed(), bad.mac())).isFalse();
    }

    @Test
    void whatIsNotAProbeDecodesToNull() {
        byte[] probe = Probe.encode(X25519.publicKey(node), 1, new byte[32]);
        assertThat(Probe.decode(probe, 59)).isNull();
        assertThat(Probe.decode(Arrays.copyOf(probe, 61), 61)).isNull();
        byte[] wg = probe.clone();
        wg[0] = 1;
        assertThat(Probe.decode(wg, wg.length)).isNull();
        assertThat(Probe.decode(new byte[10], 60)).isNull();
    }

    @Test
    void freshnessRefusesOldFutureAndRepeatedTimesPerKey() {
        Freshness f = new Freshness();
        long now = 1_000_000_000L;
        assertThat(f.accept("a", now, now)).isEqualTo(Freshness.Verdict.FRESH);
        assertThat(f.accept("a", now, now)).isEqualTo(Freshness.Verdict.REPLAYED);
        assertThat(f.accept("a", now - 1, now)).isEqualTo(Freshness.Verdict.REPLAYED);
        assertThat(f.accept("b", now, now)).isEqualTo(Freshness.Verdict.FRESH);
        assertThat(f.accept("a", now - Freshness.WINDOW_MILLIS - 1, now)).isEqualTo(Freshness.Verdict.TOO_OLD);
        assertThat(f.accept("a", now + Freshness.WINDOW_MILLIS + 1, now)).isEqualTo(Freshness.Verdict.TOO_NEW);
        assertThat(f.accept("a", now + 1, now)).isEqualTo(Freshness.Verdict.FRESH);
        assertThat(Freshness.Verdict.REPLAYED.describe()).contains("replay");
    }
}
