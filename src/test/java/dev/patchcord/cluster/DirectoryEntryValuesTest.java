package dev.patchcord.cluster;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The stored form of a mesh directory entry ({@code directory/<key>}), and what a reader refuses. */
class DirectoryEntryValuesTest {
    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static DirectoryEntry read(String s) {
        return StoreValues.readDirectoryEntry(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void bothPartsHaveAFixedReadableForm() {
        DirectoryEntry e = new DirectoryEntry(List.of("192.168.1.5:51820", "[2001:db8::5]:51820", "n1.example.net:51820"),
                1_763_780_000_123L, "203.0.113.7:40001", 1_763_780_001_000L);
        String stored = text(StoreValues.directoryEntry(e));
        assertThat(stored).isEqualTo("declared=192.168.1.5:51820,[2001:db8::5]:51820,n1.example.net:51820\n"
                + "declared-at=1763780000123\nobserved=203.0.113.7:40001\nobserved-at=1763780001000\n");
        assertThat(read(stored)).isEqualTo(e);
    }

    @Test
    void eitherPartAloneAndAnEmptyDeclaration() {
        DirectoryEntry declaredNothing = new DirectoryEntry(List.of(), 5, null, 0);
        assertThat(text(StoreValues.directoryEntry(declaredNothing))).isEqualTo("declared=\ndeclared-at=5\n");
        assertThat(read("declared=\ndeclared-at=5\n")).isEqualTo(declaredNothing);
        DirectoryEntry observedOnly = new DirectoryEntry(List.of(), 0, "198.18.1.2:51820", 7);
        assertThat(text(StoreValues.directoryEntry(observedOnly))).isEqualTo("observed=198.18.1.2:51820\nobserved-at=7\n");
        assertThat(read("observed-at=7\nobserved=198.18.1.2:51820\nlater=1\n")).isEqualTo(observedOnly);
        assertThat(read("")).isEqualTo(new DirectoryEntry(List.of(), 0, null, 0));
    }

    @Test
    void halfAPairOrABadTimeIsRefused() {
        assertThatThrownBy(() -> read("declared=1.2.3.4:5\n")).hasMessage("stored value has no 'declared-at'");
        assertThatThrownBy(() -> read("declared-at=5\n")).hasMessage("stored value has no 'declared'");
        assertThatThrownBy(() -> read("observed=1.2.3.4:5\n")).hasMessage("stored value has no 'observed-at'");
        assertThatThrownBy(() -> read("observed-at=9\n")).hasMessage("stored value has no 'observed'");
        for (String t : List.of("", "0", "-5", "+5", "1e3", " 5", "5 ", "0x10", "9999999999999999999", "１２")) {
            assertThatThrownBy(() -> read("observed=1.2.3.4:5\nobserved-at=" + t + "\n")).as(t)
                    .hasMessage("stored observed-at is not a positive number of milliseconds");
        }
        assertThatThrownBy(() -> read("declared=1.2.3.4:5\ndeclared-at=x\n"))
                .hasMessage("stored declared-at is not a positive number of milliseconds");
    }

    @Test
    void badListsAndLinesAreRefused() {
        assertThatThrownBy(() -> read("declared=1.2.3.4:5,,6.7.8.9:10\ndeclared-at=5\n"))
                .hasMessageContaining("endpoint '' is empty");
        assertThatThrownBy(() -> read("declared=1.2.3.4:5,\ndeclared-at=5\n")).hasMessageContaining("endpoint '' is empty");
        assertThatThrownBy(() -> read("declared=1.2.3.4:5 6.7.8.9:10\ndeclared-at=5\n")).hasMessageContaining("space");
        assertThatThrownBy(() -> read("observed=\nobserved-at=5\n")).hasMessageContaining("endpoint '' is empty");
        assertThatThrownBy(() -> read("observed=a\nobserved=b\nobserved-at=5\n")).hasMessage("stored value names 'observed' twice");
        assertThatThrownBy(() -> read("observed=a:1\nobserved-at=5")).hasMessageContaining("line break");
        assertThatThrownBy(() -> read("observed a:1\n")).hasMessage("stored value has a line that is not name=value");
    }

    @Test
    void anEntryThatCannotBeWrittenIsRefusedWhenMade() {
        assertThatThrownBy(() -> new DirectoryEntry(List.of("1.2.3.4:5"), 0, null, 0)).hasMessageContaining("time");
        assertThatThrownBy(() -> new DirectoryEntry(List.of(), 0, "1.2.3.4:5", 0)).hasMessageContaining("go together");
        assertThatThrownBy(() -> new DirectoryEntry(List.of(), 0, null, 5)).hasMessageContaining("go together");
        assertThatThrownBy(() -> new DirectoryEntry(List.of(), -1, null, 0)).hasMessageContaining("negative");
        assertThatThrownBy(() -> new DirectoryEntry(List.of("a:1\nx=y"), 5, null, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void keyLayout() {
        StoreKeys k = new StoreKeys("mesh");
        byte[] member = StoreValuesTest.key(9);
        assertThat(k.directory(member)).isEqualTo("/patchcord/mesh/directory/" + StoreKeys.encodeKey(member));
        assertThat(StoreKeys.keyAfter(k.directoryPrefix(), k.directory(member))).isEqualTo(member);
    }
}
