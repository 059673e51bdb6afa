package dev.patchcord.cli;

import dev.patchcord.device.Warmup;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UpCommandTest {
    @Test
    void theWarmUpIsOnByDefaultAndTheEnvironmentSetsItsRoundTrips() {
        assertThat(UpCommand.warmUpRoundTrips(null)).isEqualTo(Warmup.ROUND_TRIPS);
        assertThat(UpCommand.warmUpRoundTrips(" ")).isEqualTo(Warmup.ROUND_TRIPS);
        assertThat(UpCommand.warmUpRoundTrips("0")).isZero();
        assertThat(UpCommand.warmUpRoundTrips(" 250 ")).isEqualTo(250);
    }

    @Test
    void anythingElseIsRefusedWithTheVariablesName() {
        for (String bad : new String[]{"off", "-1", "100001", "1e3"}) {
            assertThatThrownBy(() -> UpCommand.warmUpRoundTrips(bad))
                    .isInstanceOf(UserError.class)
                    .hasMessageContaining("PATCHCORD_WARM_UP must be a number of round trips");
        }
    }
}
