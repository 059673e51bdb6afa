package dev.patchcord.control;

import dev.patchcord.core.wg.Keys;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The surviving hub that calls an orphan back: the same on every hub, spread evenly, stable. */
class HubChoiceTest {

    private static String key(Random r) {
        byte[] k = new byte[32];
        r.nextBytes(k);
        return Keys.toBase64(k);
    }

    @Test
    void everyHubPicksTheSameOneWhateverItsOwnIdAndTheListOrder() {
        Random r = new Random(1);
        for (int i = 0; i < 200; i++) {
            String k = key(r);
            String a = HubChoice.successor(k, List.of("hub1", "hub2", "hub3"), "hub1");
            String b = HubChoice.successor(k, List.of("hub3", "hub1", "hub2"), "hub2");
            String c = HubChoice.successor(k, List.of("hub2", "hub3", "hub1"), "hub3");
            assertThat(a).isEqualTo(b).isEqualTo(c);
        }
    }

    @Test
    void orphansSpreadEvenlyOverTheSurvivors() {
        Random r = new Random(2);
        Map<String, Integer> count = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            count.merge(HubChoice.successor(key(r), List.of("a", "b", "c"), "a"), 1, Integer::sum);
        }
        assertThat(count.values()).allSatisfy(n -> assertThat(n).isBetween(850, 1150));
    }

    @Test
    void aHubLeavingMovesOnlyTheClientsItHad() {
        Random r = new Random(3);
        for (int i = 0; i < 500; i++) {
            String k = key(r);
            String withFour = HubChoice.successor(k, List.of("a", "b", "c", "d"), "a");
            String withoutD = HubChoice.successor(k, List.of("a", "b", "c"), "a");
            if (!withFour.equals("d")) {
                assertThat(withoutD).isEqualTo(withFour);
            }
        }
    }

    @Test
    void aHubWhoseOwnRecordIsMissingStillCountsItself() {
        assertThat(HubChoice.successor(key(new Random(4)), List.of(), "only")).isEqualTo("only");
    }
}
