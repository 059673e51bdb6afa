package dev.patchcord.core.wg;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The counter sequences of the Linux kernel's self-test (as carried by wireguard-go), and a model check. */
class ReplayWindowTest {
    private static final long WINDOW = ReplayWindow.WINDOW;
    /** The self-test's limit: 2^64 - 2^4 - 1, as an unsigned value. */
    private static final long LIMIT = -1L - 16;

    private final ReplayWindow w = new ReplayWindow();

    private void step(long counter, boolean expected) {
        assertThat(w.accept(counter, LIMIT)).as("counter %s", Long.toUnsignedString(counter)).isEqualTo(expected);
    }

    @Test
    void kernelSequence() {
        long t = WINDOW + 1;
        long[][] steps = {
                {0, 1}, {1, 1}, {1, 0}, {9, 1}, {8, 1}, {7, 1}, {7, 0}, {t, 1}, {t - 1, 1}, {t - 1, 0},
                {t - 2, 1}, {2, 1}, {2, 0}, {t + 16, 1}, {3, 0}, {t + 16, 0}, {t * 4, 1}, {t * 4 - (t - 1), 1},
                {10, 0}, {t * 4 - t, 0}, {t * 4 - (t + 1), 0}, {t * 4 - (t - 2), 1}, {t * 4 + 1 - t, 0}, {0, 0},
                {LIMIT, 0}, {LIMIT - 1, 1}, {LIMIT, 0}, {LIMIT - 1, 0}, {LIMIT - 2, 1}, {LIMIT + 1, 0},
                {LIMIT + 2, 0}, {LIMIT - 2, 0}, {LIMIT - 3, 1}, {0, 0},
        };
        for (long[] s : steps) {
            step(s[0], s[1] == 1);
        }
    }

    @Test
    void bulkAscendingThenZero() {
        for (long i = 1; i <= WINDOW; i++) step(i, true);
        step(0, true);
        step(0, false);
    }

    @Test
    void bulkAscendingPastTheWindow() {
        for (long i = 2; i <= WINDOW + 1; i++) step(i, true);
        step(1, true);
        step(0, false);
    }

    @Test
    void bulkDescending() {
        for (long i = WINDOW + 1; i > 0; i--) step(i, true);
    }

    @Test
    void bulkDescendingThenTooOld() {
        for (long i = WINDOW + 2; i > 1; i--) step(i, true);
        step(0, false);
    }

    @Test
    void bulkDescendingThenAdvance() {
        for (long i = WINDOW; i > 0; i--) step(i, true);
        step(WINDOW + 1, true);
        step(0, false);
    }

    @Test
    void bulkDescendingZeroThenAdvance() {
        for (long i = WINDOW; i > 0; i--) step(i, true);
        step(0, true);
        step(WINDOW + 1, true);
    }

    /** Against a model that remembers everything: accept iff unseen and within WINDOW of the newest. */
    @Property(tries = 300)
    void matchesAModelThatRemembersEverything(
            @ForAll @Size(max = 300) List<@LongRange(max = 30_000) Long> counters) {
        ReplayWindow window = new ReplayWindow();
        Set<Long> seen = new HashSet<>();
        long newest = 0;
        boolean any = false;
        for (long c : counters) {
            boolean fresh = !seen.contains(c) && (!any || c > newest || newest - c <= WINDOW);
            assertThat(window.accept(c, LIMIT)).as("counter %d after newest %d", c, newest).isEqualTo(fresh);
            if (fresh) {
                seen.add(c);
                if (!any || c > newest) newest = c;
                any = true;
            }
        }
    }
}
