package dev.patchcord.device;

import dev.patchcord.core.wg.JdkCurve25519;
import dev.patchcord.sys.NativeCurve25519;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OffloadsTest {
    @Test
    void parsesAllNoneListsAndRemovals() {
        assertThat(Offloads.parse("all")).isEqualTo(Offloads.ALL);
        assertThat(Offloads.parse("none")).isEqualTo(Offloads.NONE);
        assertThat(Offloads.parse("-tso")).isEqualTo(new Offloads(true, true, true, false, true, true, true));
        assertThat(Offloads.parse("all, -coalesce,-parallel")).isEqualTo(new Offloads(true, true, true, true, false, false, true));
        assertThat(Offloads.parse("batch,gso")).isEqualTo(new Offloads(true, true, false, false, false, false, false));
        assertThat(Offloads.parse("BATCH")).isEqualTo(new Offloads(true, false, false, false, false, false, false));
        assertThat(Offloads.parse("-native").nativeCipher()).isFalse();
        assertThat(Offloads.parse("-native").batching()).isTrue();
        assertThat(Offloads.parse("native").batching()).isFalse();
        assertThatThrownBy(() -> Offloads.parse("all,-tos")).hasMessageContaining("unknown offload 'tos'");
    }

    @Test
    void saysWhatIsOnTheWayItIsWritten() {
        assertThat(Offloads.ALL).hasToString("all");
        assertThat(Offloads.NONE).hasToString("none");
        assertThat(Offloads.parse("-tso,-gro")).hasToString("batch,gso,coalesce,parallel,native");
        assertThat(Offloads.parse(Offloads.parse("-tso,-gro").toString())).isEqualTo(Offloads.parse("-tso,-gro"));
    }

    @Test
    void theTunNeedsVirtioHeadersOnlyForTsoOrCoalescing() {
        assertThat(Offloads.parse("-tso,-coalesce").vnet()).isFalse();
        assertThat(Offloads.parse("tso").vnet()).isTrue();
        assertThat(Offloads.parse("coalesce").vnet()).isTrue();
        assertThat(Offloads.parse("-parallel").cryptoThreads()).isZero();
        assertThat(Offloads.ALL.cryptoThreads()).isEqualTo(Runtime.getRuntime().availableProcessors() - 1);
    }

    @Test
    void theCipherThreadVariableSetsTheThreadsPerDirectionTheLoopsOwnIncluded() {
        assertThat(Offloads.workers(null, 8)).isEqualTo(7);
        assertThat(Offloads.workers("", 1)).isZero();
        assertThat(Offloads.workers(null, 0)).isZero();
        assertThat(Offloads.workers("1", 8)).isZero();
        assertThat(Offloads.workers(" 4 ", 1)).isEqualTo(3);
        assertThat(Offloads.workers("256", 2)).isEqualTo(255);
        for (String bad : new String[] {"0", "257", "-1", "two", "1.5", "99999999999"}) {
            assertThatThrownBy(() -> Offloads.workers(bad, 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("PATCHCORD_CIPHER_THREADS: '" + bad + "'");
        }
    }

    @Test
    void nativeGivesTheHandshakesTheNativeX25519WhereThereIsOneAndTheJdksOtherwise() {
        assertThat(Offloads.parse("-native").curve25519()).isSameAs(JdkCurve25519.INSTANCE);
        assertThat(Offloads.NONE.curve25519()).isSameAs(JdkCurve25519.INSTANCE);
        assertThat(Offloads.ALL.curve25519()).isSameAs(NativeCurve25519.best().orElse(JdkCurve25519.INSTANCE));
        assertThat(Offloads.parse("native").curve25519().name())
                .isEqualTo(NativeCurve25519.best().isPresent() ? NativeCurve25519.best().get().name() : "the JDK");
    }
}
