package dev.patchcord.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code patchcord down IFNAME|CONFIG}: stops a tunnel started with {@code patchcord up}. */
@Command(name = "down", mixinStandardHelpOptions = false,
        description = "Stop an interface brought up with 'patchcord up': its PreDown and PostDown hooks run and "
                + "the interface is removed.",
        footer = {"", "Example:", "  patchcord down wg0"})
final class DownCommand implements Callable<Integer> {

    @Parameters(paramLabel = "IFNAME|CONFIG", description = "Interface name, or the configuration file it came from.")
    String target;

    @picocli.CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() throws InterruptedException {
        String ifname = target.contains("/") || target.endsWith(".conf")
                ? ConfigFiles.interfaceName(Path.of(target)) : target;
        ProcessHandle process = RunDir.running(ifname).orElseThrow(
                () -> new UserError(ifname + " is not up (no running process in " + RunDir.pidFile(ifname) + ")"));
        process.destroy();
        try {
            process.onExit().get(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new UserError(ifname + " (pid " + process.pid() + ") did not stop within 20 s");
        }
        System.err.println("patchcord: " + ifname + " is down");
        return 0;
    }
}
