package dev.patchcord.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class JournalTest {
    private static String through(int level, String... lines) {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(sink, true, StandardCharsets.UTF_8);
        PrintStream in = new PrintStream(new Journal.Prefixing(out, level), true, StandardCharsets.UTF_8);
        for (String l : lines) {
            in.println(l);
        }
        return sink.toString(StandardCharsets.UTF_8);
    }

    @Test
    void everyLineGetsItsPriorityOnce() {
        assertThat(through(Journal.INFO,
                "patchcord: wg0: interface wg0 (MTU 1420), public key …",
                "patchcord: WARNING: tinyvpn mode is a plain tunnel",
                "patchcord: Warning: '/etc/patchcord/wg0.conf' is world accessible",
                "<3>patchcord: cannot create TUN interface",
                "patchcord: wg0: stopped; rx 1 packets"))
                .isEqualTo("<6>patchcord: wg0: interface wg0 (MTU 1420), public key …\n"
                        + "<4>patchcord: WARNING: tinyvpn mode is a plain tunnel\n"
                        + "<4>patchcord: Warning: '/etc/patchcord/wg0.conf' is world accessible\n"
                        + "<3>patchcord: cannot create TUN interface\n"
                        + "<6>patchcord: wg0: stopped; rx 1 packets\n");
    }

    @Test
    void theDebugStreamMarksItsLinesAsDebug() {
        assertThat(through(Journal.DEBUG, "handshake initiation to peer 8Uq9…", "dropped 92 bytes: bad-mac"))
                .isEqualTo("<7>handshake initiation to peer 8Uq9…\n<7>dropped 92 bytes: bad-mac\n");
    }

    @Test
    void aLineIsWrittenWholeOnlyOnceItEnds() {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream in = new PrintStream(new Journal.Prefixing(new PrintStream(sink, true, StandardCharsets.UTF_8),
                Journal.INFO), false, StandardCharsets.UTF_8);
        in.print("patchcord: half");
        in.flush();
        assertThat(sink.size()).isZero();
        in.print(" and the rest\n");
        in.flush();
        assertThat(sink.toString(StandardCharsets.UTF_8)).isEqualTo("<6>patchcord: half and the rest\n");
    }

    @Test
    void onlyTheJournalsOwnSocketCounts() {
        assertThat(Journal.sameStream("8:123456", "socket:[123456]")).isTrue();
        assertThat(Journal.sameStream("8:123456", "socket:[654321]")).isFalse();
        assertThat(Journal.sameStream("8:123456", "pipe:[123456]")).isFalse();
        assertThat(Journal.sameStream("garbage", "socket:[garbage]")).isFalse();
        assertThat(Journal.sameStream("8:", "socket:[]")).isFalse();
        // Outside systemd nothing changes: no prefix at all.
        assertThat(Journal.prefix(Journal.ERROR)).isEmpty();
    }
}
