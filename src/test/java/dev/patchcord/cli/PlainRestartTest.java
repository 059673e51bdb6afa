package dev.patchcord.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PlainRestartTest {
    private static final Path SOCKET = Path.of("/run/patchcord/tun0.handover");

    @Test
    void theSuccessorGetsTheSameArgumentsWithTheHandOverSocketAfterTheCommandName() {
        assertThat(PlainRestart.successorArgs(List.of("tinyvpn", "-d", "tun0", "peer.example", "5555"), "tinyvpn", SOCKET))
                .containsExactly("tinyvpn", "--take-over", SOCKET.toString(), "-d", "tun0", "peer.example", "5555");
    }

    @Test
    void aSuccessorsOwnHandOverOptionIsReplacedNotRepeated() {
        assertThat(PlainRestart.successorArgs(List.of("udptun", "--take-over", "/old", "-d", "ut0", "--take-over=/x",
                "-A", "h"), "udptun", SOCKET))
                .containsExactly("udptun", "--take-over", SOCKET.toString(), "-d", "ut0", "-A", "h");
    }

    @Test
    void argumentsAfterTheEndOfOptionsStayAsTheyAre() {
        assertThat(PlainRestart.successorArgs(List.of("tinyvpn", "--", "--take-over", "h", "1"), "tinyvpn", SOCKET))
                .containsExactly("tinyvpn", "--take-over", SOCKET.toString(), "--", "--take-over", "h", "1");
    }

    @Test
    void theParsedCommandLineKeepsTheSubcommandsArguments() {
        // What register() reads: picocli's original arguments, as the subcommand sees them.
        var cl = new picocli.CommandLine(new Main());
        var parsed = cl.parseArgs("tap2tap", "-i", "tp0", "--remote", "192.0.2.1");
        var sub = parsed.subcommand();
        assertThat(PlainRestart.successorArgs(sub.originalArgs(), sub.commandSpec().name(), SOCKET))
                .containsExactly("tap2tap", "--take-over", SOCKET.toString(), "-i", "tp0", "--remote", "192.0.2.1");
    }
}
