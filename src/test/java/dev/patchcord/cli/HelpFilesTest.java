package dev.patchcord.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The help that ships: every command's {@code --help}, the manual page and the bash completion,
 * all from the command line's model. A command or option added without a description, an example
 * or a way into the page and the completion fails here.
 */
@Timeout(60)
class HelpFilesTest {
    private static final LocalDate DATE = LocalDate.of(2026, 1, 2);

    /** Every command a user can see, the program itself first; picocli's own {@code help} is not ours to document. */
    private static List<CommandSpec> commands() {
        List<CommandSpec> all = ManPage.commands(HelpFiles.commandLine().getCommandSpec());
        assertThat(all).hasSizeGreaterThan(15);
        return all;
    }

    private static boolean isPicocliHelp(CommandSpec c) {
        return c.userObject() instanceof CommandLine.HelpCommand;
    }

    private static List<OptionSpec> visibleOptions(CommandSpec c) {
        return c.options().stream().filter(o -> !o.hidden()).toList();
    }

    private static List<PositionalParamSpec> visibleParameters(CommandSpec c) {
        return c.positionalParameters().stream().filter(p -> !p.hidden()).toList();
    }

    /** Words after the program name: {@code [up]} for {@code patchcord up}. */
    private static List<String> path(CommandSpec c) {
        List<String> words = new ArrayList<>(Arrays.asList(c.qualifiedName(" ").split(" ")));
        words.removeFirst();
        return words;
    }

    /** The page as a reader sees the words: troff escapes and font changes removed. */
    private static String plain(String troff) {
        return troff.replace("\\-", "-").replace("\\fB", "").replace("\\fI", "").replace("\\fR", "")
                .replace("\\&", "").replace("\\e", "\\");
    }

    @Test
    void everyCommandHasHelpWithExamplesAndDescribesEveryOption() {
        for (CommandSpec c : commands()) {
            if (isPicocliHelp(c)) {
                continue;
            }
            String name = c.qualifiedName(" ");
            assertThat(c.usageMessage().description()).as("description of %s", name).isNotEmpty();
            assertThat(c.options()).as("%s has -h/--help", name)
                    .anySatisfy(o -> assertThat(o.usageHelp()).isTrue());
            // The program's own help lists the commands and sends the reader to their help for examples.
            if (c != c.root()) {
                assertThat(ManPage.examples(c.usageMessage().footer())).as("examples in the footer of %s", name)
                        .isNotEmpty();
            }
            for (OptionSpec o : visibleOptions(c)) {
                assertThat(String.join("", o.description())).as("%s %s", name, o.longestName()).isNotBlank();
            }
            for (PositionalParamSpec p : visibleParameters(c)) {
                assertThat(String.join("", p.description())).as("%s %s", name, p.paramLabel()).isNotBlank();
            }
        }
    }

    @Test
    void helpOptionPrintsUsageAndExamplesForEveryCommand() {
        for (CommandSpec c : commands()) {
            if (isPicocliHelp(c)) {
                continue;
            }
            List<String> args = new ArrayList<>(path(c));
            args.add("--help");
            CommandLine cl = HelpFiles.commandLine();
            StringWriter out = new StringWriter();
            cl.setOut(new PrintWriter(out));
            int status = cl.execute(args.toArray(String[]::new));
            assertThat(status).as("patchcord %s", String.join(" ", args)).isZero();
            assertThat(out.toString()).as("patchcord %s", String.join(" ", args))
                    .contains("Usage: " + c.qualifiedName(" "));
            for (String example : ManPage.examples(c.usageMessage().footer())) {
                assertThat(out.toString()).as("patchcord %s", String.join(" ", args)).contains(example);
            }
        }
    }

    @Test
    void manPageHasEveryCommandOptionParameterAndExample() {
        String troff = HelpFiles.manPage(DATE);
        String page = plain(troff);
        assertThat(troff).startsWith(".TH PATCHCORD " + ManPage.SECTION + " 2026-01-02 ");
        for (String section : List.of("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXAMPLES", "FILES",
                "ENVIRONMENT", "\"EXIT STATUS\"", "\"SEE ALSO\"")) {
            assertThat(troff).contains("\n.SH " + section + "\n");
        }
        String synopsis = between(page, ".SH SYNOPSIS\n", ".SH DESCRIPTION\n");
        for (CommandSpec c : commands()) {
            String name = c.qualifiedName(" ");
            assertThat(synopsis).as("synopsis of %s", name).containsPattern("(?m)^" + Pattern.quote(name) + "( |$)");
            String own = c == c.root() ? between(page, ".SH OPTIONS\n", ".SH COMMANDS\n")
                    : between(page, ".SS \"" + name + "\"\n", "\n.S");
            for (OptionSpec o : visibleOptions(c)) {
                for (String n : o.names()) {
                    assertThat(headings(own)).as("%s %s", name, n).contains(n);
                }
            }
            for (PositionalParamSpec p : visibleParameters(c)) {
                assertThat(headings(own)).as("%s %s", name, p.paramLabel()).contains(p.paramLabel());
            }
            for (String example : ManPage.examples(c.usageMessage().footer())) {
                assertThat(page).as("example of %s", name).contains("\n" + example + "\n");
            }
        }
        assertThat(page).doesNotContain("lab sink").doesNotContain("%n");
    }

    private static String between(String text, String start, String end) {
        int from = text.indexOf(start);
        assertThat(from).as("'%s' in the page", start.strip()).isNotNegative();
        int to = text.indexOf(end, from + start.length());
        return text.substring(from + start.length(), to < 0 ? text.length() : to);
    }

    /** The names and labels on the heading lines (after .TP) of one part of the page: "-f, --foreground" gives both. */
    private static List<String> headings(String part) {
        List<String> names = new ArrayList<>();
        String[] lines = part.split("\n");
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].equals(".TP")) {
                for (String n : lines[i + 1].split(", ")) {
                    names.add(n.replaceFirst("=.*", ""));
                }
            }
        }
        return names;
    }

    @Test
    void bashCompletionHasEveryCommandAndOption() {
        String script = HelpFiles.bashCompletion();
        assertThat(script).contains("complete -F _complete_patchcord");
        for (CommandSpec c : commands()) {
            String function = "function _picocli_" + c.qualifiedName("_") + "()";
            assertThat(script).contains(function);
            String body = script.substring(script.indexOf(function));
            body = body.substring(0, body.indexOf("\n}\n"));
            for (CommandLine sub : c.subcommands().values()) {
                if (!sub.getCommandSpec().usageMessage().hidden()) {
                    assertThat(body).as("%s lists %s", c.qualifiedName(" "), sub.getCommandName())
                            .containsPattern("local commands=\"[^\"]*\\b" + sub.getCommandName() + "\\b");
                }
            }
            for (OptionSpec o : visibleOptions(c)) {
                for (String n : o.names()) {
                    assertThat(body).as("%s %s", c.qualifiedName(" "), n).contains("'" + n + "'");
                }
            }
        }
        assertThat(script).doesNotContain("_picocli_patchcord_lab");
    }

    @Test
    void troffTextIsEscaped() {
        assertThat(ManPage.text(".PP not a request")).isEqualTo("\\&.PP not a request");
        assertThat(ManPage.text("'also not")).startsWith("\\&'");
        assertThat(ManPage.text("a\\b --x")).isEqualTo("a\\eb \\-\\-x");
        assertThat(ManPage.text("\"…\"")).isEqualTo("\"\\[u2026]\"");
    }

    @Test
    void examplesAreSplitFromNotes() {
        String[] footer = {"", "Members file:", "  { peers: [] }", "", "Examples:", "  patchcord a", "", "  patchcord b"};
        assertThat(ManPage.notes(footer)).containsExactly("Members file:", "  { peers: [] }");
        assertThat(ManPage.examples(footer)).containsExactly("patchcord a", "patchcord b");
    }

    /** groff's own check of the page, where groff is installed: no warning of any kind. */
    @Test
    void groffFindsNothingToWarnAbout(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("groff"), "groff is not installed");
        Path page = dir.resolve("patchcord." + ManPage.SECTION);
        Files.writeString(page, HelpFiles.manPage(DATE));
        Process p = new ProcessBuilder("groff", "-man", "-ww", "-z", page.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(output).isEmpty();
        assertThat(p.exitValue()).isZero();
    }

    private static boolean onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (new File(d, program).canExecute()) {
                return true;
            }
        }
        return false;
    }
}
