package dev.patchcord.transport;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UdpFeaturesTest {
    @Test
    void namesAddUpLeftToRight() {
        assertThat(UdpFeatures.parse("all")).isEqualTo(UdpFeatures.ALL);
        assertThat(UdpFeatures.parse("none")).isEqualTo(UdpFeatures.NONE);
        assertThat(UdpFeatures.parse("batch")).isEqualTo(UdpFeatures.BATCH_ONLY);
        assertThat(UdpFeatures.parse(" batch , GSO ")).isEqualTo(new UdpFeatures(true, true, false));
        assertThat(UdpFeatures.parse("all,-gro")).isEqualTo(new UdpFeatures(true, true, false));
        assertThat(UdpFeatures.parse("")).isEqualTo(UdpFeatures.NONE);
    }

    @Test
    void aLeadingRemovalStartsFromEverything() {
        assertThat(UdpFeatures.parse("-gso")).isEqualTo(new UdpFeatures(true, false, true));
        assertThat(UdpFeatures.parse("-gso,-gro")).isEqualTo(UdpFeatures.BATCH_ONLY);
        assertThat(UdpFeatures.parse("-batch")).isEqualTo(new UdpFeatures(false, true, true));
    }

    @Test
    void unknownNamesAreRefused() {
        assertThatThrownBy(() -> UdpFeatures.parse("gso,tso"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'tso'");
    }

    @Test
    void printsAsPatchcordShowsIt() {
        assertThat(UdpFeatures.ALL).hasToString("batch+gso+gro");
        assertThat(UdpFeatures.NONE).hasToString("none");
        assertThat(new UdpFeatures(false, true, false)).hasToString("gso");
        assertThat(UdpFeatures.ALL.and(new UdpFeatures(true, false, true))).hasToString("batch+gro");
    }
}
