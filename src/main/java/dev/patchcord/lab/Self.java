package dev.patchcord.lab;

import java.util.ArrayList;
import java.util.List;

/** How to start another patchcord process: the launcher if known, else this very JVM and class path. */
public final class Self {
    private Self() {}

    /** The command prefix; append a subcommand and its arguments. */
    public static List<String> command() {
        String launcher = System.getProperty("patchcord.launcher");
        if (launcher != null && !launcher.isBlank()) {
            return List.of(launcher);
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "dev.patchcord.cli.Main"));
        return cmd;
    }

    /** {@link #command()} followed by {@code args}. */
    public static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(command());
        cmd.addAll(List.of(args));
        return cmd;
    }
}
