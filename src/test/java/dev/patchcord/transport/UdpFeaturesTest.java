package dev.patchcord.transport;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class UdpFeaturesTest {
    @Test
    void printsAsPatchcordShowsIt() {
        assertThat(UdpFeatures.ALL).hasToString("batch+gso+gro");
        assertThat(UdpFeatures.NONE).hasToString("none");
        assertThat(new UdpFeatures(false, true, false)).hasToString("gso");
        assertThat(UdpFeatures.ALL.and(new UdpFeatures(true, false, true))).hasToString("batch+gro");
    }
}
