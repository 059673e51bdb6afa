package dev.patchcord.cli;

import picocli.AutoComplete;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;

/**
 * Writes the manual page and the bash completion script, both made from the command line's model,
 * when the packages are built (dist/build.sh):
 * {@code java -cp patchcord.jar dev.patchcord.cli.HelpFiles DIR} writes {@code DIR/patchcord.8}
 * and {@code DIR/patchcord.bash-completion}.
 */
public final class HelpFiles {
    private HelpFiles() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: HelpFiles OUTPUT-DIRECTORY");
            System.exit(2);
        }
        Path dir = Files.createDirectories(Path.of(args[0]));
        Files.writeString(dir.resolve("patchcord." + ManPage.SECTION), manPage(date()));
        Files.writeString(dir.resolve("patchcord.bash-completion"), bashCompletion());
    }

    /** The same command line the program parses with. */
    static CommandLine commandLine() {
        return new CommandLine(new Main());
    }

    static String manPage(LocalDate date) {
        return ManPage.render(commandLine(), new Main.Version().getVersion()[0], date);
    }

    static String bashCompletion() {
        return AutoComplete.bash("patchcord", commandLine());
    }

    /** SOURCE_DATE_EPOCH when set, so that a rebuild of the same sources gives the same page. */
    private static LocalDate date() {
        String epoch = System.getenv("SOURCE_DATE_EPOCH");
        Instant when = epoch != null && epoch.matches("\\d+") ? Instant.ofEpochSecond(Long.parseLong(epoch)) : Instant.now();
        return LocalDate.ofInstant(when, ZoneOffset.UTC);
    }
}
