package dev.patchcord.core.wg;

import java.util.HexFormat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Tai64nTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void epochIsTwoToTheSixtyTwoPlusTen() {
        assertThat(HEX.formatHex(Tai64n.of(0, 0))).isEqualTo("400000000000000a00000000");
    }

    @Test
    void secondsAndNanosecondsAreBigEndian() {
        assertThat(HEX.formatHex(Tai64n.of(1_704_067_200L, 0x12000000)))
                .isEqualTo("400000006592008a" + "12000000");
    }

    @Test
    void lowTwentyFourBitsOfNanosecondsAreMaskedOff() {
        assertThat(Tai64n.of(0, (1 << 24) - 1)).isEqualTo(Tai64n.of(0, 0));
        assertThat(HEX.formatHex(Tai64n.of(0, 1 << 24))).endsWith("01000000");
        assertThat(HEX.formatHex(Tai64n.of(0, 999_999_999))).endsWith("3b000000");
    }

    @Test
    void laterTimesCompareGreater() {
        assertThat(Tai64n.compare(Tai64n.of(1, 0), Tai64n.of(0, 999_999_999))).isPositive();
        assertThat(Tai64n.compare(Tai64n.of(0, 1 << 24), Tai64n.of(0, 0))).isPositive();
        assertThat(Tai64n.compare(Tai64n.of(0, 0), Tai64n.of(-1, 999_999_999))).isPositive();
        assertThat(Tai64n.compare(Tai64n.of(0, 5), Tai64n.of(0, 7))).isZero();
    }

    @Test
    void comparisonIsUnsigned() {
        byte[] high = Tai64n.of(0, 999_999_999);
        byte[] top = HEX.parseHex("400000000000000a" + "ff000000");
        assertThat(Tai64n.compare(top, high)).isPositive();
        assertThat(Tai64n.compare(HEX.parseHex("ff0000000000000000000000"), Tai64n.of(0, 0))).isPositive();
    }

    @Property
    void orderFollowsTimeAtSixteenMillisecondResolution(
            @ForAll @LongRange(min = -1_000_000_000L, max = 100_000_000_000L) long seconds,
            @ForAll @IntRange(min = 0, max = 999_999_999) int nanos,
            @ForAll @IntRange(min = 1 << 24, max = 2_000_000_000) int laterByNanos) {
        long total = nanos + (long) laterByNanos;
        byte[] earlier = Tai64n.of(seconds, nanos);
        byte[] later = Tai64n.of(seconds + total / 1_000_000_000L, (int) (total % 1_000_000_000L));
        assertThat(Tai64n.compare(later, earlier)).isPositive();
        assertThat(Tai64n.compare(earlier, later)).isNegative();
    }

    @Test
    void nanosecondsOutOfRangeAreRejected() {
        assertThatThrownBy(() -> Tai64n.of(0, 1_000_000_000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1000000000");
        assertThatThrownBy(() -> Tai64n.of(0, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
