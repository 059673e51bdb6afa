package dev.patchcord.cli;

import dev.patchcord.control.ConfigException;
import dev.patchcord.control.ConfigSync;
import dev.patchcord.control.UapiDevice;
import dev.patchcord.control.UapiException;
import dev.patchcord.control.UapiProtocol;
import dev.patchcord.control.WgConfig;
import dev.patchcord.control.WgPeerSection;
import dev.patchcord.core.wg.Keys;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * SIGHUP on {@code patchcord up}: the configuration file is read again and its WireGuard part
 * applied to the running interface ({@link ConfigSync}): peers dropped from the file go, new ones
 * come, changed ones are updated, and the rest keep their sessions. Peers that did not come from
 * the file (a peers file, a directory, {@code wg set}) are left alone. A file that no longer
 * parses changes nothing and is said in one line; settings that need a restart are named.
 */
final class ConfigReload implements Runnable {
    private final Path file;
    private final String ifname;
    private final UapiDevice device;
    private final PrintStream err;
    /** Run after the file is applied (the mesh's own reload), or null. */
    private final Runnable also;
    /** Runs the read-compare-write with no {@code wg set} in between. */
    private volatile java.util.function.Consumer<Runnable> exclusive = Runnable::run;
    /** The file as last applied. */
    private WgConfig applied;

    ConfigReload(Path file, WgConfig applied, UapiDevice device, String ifname, PrintStream err, Runnable also) {
        this.file = file;
        this.applied = applied;
        this.device = device;
        this.ifname = ifname;
        this.err = err;
        this.also = also;
    }

    private java.util.function.Consumer<WgConfig> onNewFile = c -> { };

    /** Tells {@code listener} of each file read, before it is applied (a cluster hub learns its file's peers). */
    void onNewFile(java.util.function.Consumer<WgConfig> listener) {
        this.onNewFile = listener;
    }

    /** Makes the reload exclusive of UAPI requests (the socket's lock). */
    void exclusive(java.util.function.Consumer<Runnable> runner) {
        this.exclusive = runner;
    }

    @Override
    public synchronized void run() {
        try {
            exclusive.accept(this::reload);
        } finally {
            if (also != null) {
                also.run();
            }
        }
    }

    private void reload() {
        WgConfig next;
        try {
            next = WgConfig.parse(file);
        } catch (ConfigException e) {
            err.println("patchcord: " + ifname + ": reload refused, nothing changed: " + e.getMessage());
            return;
        } catch (IOException e) {
            err.println("patchcord: " + ifname + ": reload refused, nothing changed: cannot read " + file + ": " + e.getMessage());
            return;
        }
        UapiDevice.DeviceState now = device.get();
        Set<String> fromFile = new HashSet<>();
        for (WgPeerSection p : applied.peers()) {
            fromFile.add(p.publicKeyBase64());
        }
        Set<String> keep = new HashSet<>();
        for (UapiDevice.PeerState p : now.peers()) {
            String key = Keys.toBase64(p.publicKey());
            if (!fromFile.contains(key)) {
                keep.add(key);
            }
        }
        onNewFile.accept(next);
        try {
            ConfigSync sync = ConfigSync.plan(next, now, keep);
            if (!sync.body().isEmpty()) {
                device.set(UapiProtocol.parseSet(sync.body()));
            }
            err.println("patchcord: " + ifname + ": reloaded " + file + ": " + SyncconfCommand.describe(sync));
        } catch (ConfigException | UapiException e) {
            err.println("patchcord: " + ifname + ": reload refused, nothing changed: " + e.getMessage());
            return;
        }
        List<String> restart = ConfigSync.restartNeeded(applied.interfaceSection(), next.interfaceSection());
        if (!restart.isEmpty()) {
            err.println("patchcord: " + ifname + ": " + String.join(", ", restart)
                    + " changed in the file and take effect at the next start");
        }
        applied = next;
    }
}
