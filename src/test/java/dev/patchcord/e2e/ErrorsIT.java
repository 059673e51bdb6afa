package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Each user mistake gives one clear line and a non-zero exit, never a stack trace or a leftover interface. */
@ExtendWith(LabExtension.class)
class ErrorsIT {

    private static Lab.Result run(Lab lab, String ns, String... args) {
        return lab.run(ns, Duration.ofSeconds(30), Self.command(args).toArray(String[]::new));
    }

    private static void assertOneClearLine(Lab.Result r, int code, String expected) {
        assertThat(r.code()).as(r.output()).isEqualTo(code);
        assertThat(r.output()).contains(expected).doesNotContain("\tat ").doesNotContain("Exception");
    }

    @Test
    void missingPrivilege(Lab lab) {
        String ns = lab.netns("a");
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"));
        cmd.addAll(Self.command("tinyvpn", "tv0", "127.0.0.1", "5555"));
        Lab.Result r = lab.run(ns, Duration.ofSeconds(30), cmd.toArray(String[]::new));
        assertOneClearLine(r, 1, "(run as root or with CAP_NET_ADMIN)");
        assertThat(lab.hasInterface(ns, "tv0")).isFalse();
    }

    @Test
    void missingTunDevice(Lab lab) {
        String ns = lab.netns("a");
        // A private mount namespace hides /dev/net/tun from this one command only.
        String cmd = "mount -t tmpfs none /dev/net && exec " + String.join(" ", Self.command("tinyvpn", "tv0", "127.0.0.1", "5555"));
        Lab.Result r = lab.run(ns, Duration.ofSeconds(30), "unshare", "--mount", "--", "sh", "-c", cmd);
        assertOneClearLine(r, 1, "cannot open /dev/net/tun (is the tun module loaded? try 'modprobe tun')");
    }

    @Test
    void badInterfaceNames(Lab lab) {
        String ns = lab.netns("a");
        assertOneClearLine(run(lab, ns, "tinyvpn", "this-name-is-far-too-long", "127.0.0.1", "5555"), 1,
                "Linux allows at most 15");
        assertOneClearLine(run(lab, ns, "tap2tap", "-i", "tap/0"), 1, "names cannot contain '/'");
    }

    @Test
    void badAddressesAndPorts(Lab lab) {
        String ns = lab.netns("a");
        assertOneClearLine(run(lab, ns, "tinyvpn", "tv0", "no-such-host.invalid", "5555"), 1,
                "cannot resolve host 'no-such-host.invalid'");
        assertOneClearLine(run(lab, ns, "tap2tap", "--remote", "300.1.2.3"), 1, "cannot resolve host '300.1.2.3'");
        assertOneClearLine(run(lab, ns, "tinyvpn", "tv0", "127.0.0.1", "99999"), 1, "port 99999 is out of range");
        assertOneClearLine(run(lab, ns, "tap2tap", "--mtu", "20"), 1, "--mtu 20 is out of range");
        assertOneClearLine(run(lab, ns, "tap2tap", "--bogus"), 2, "Unknown option: '--bogus'");
        assertThat(lab.run(ns, Duration.ofSeconds(5), "ip", "-o", "link").output().lines().count())
                .as("nothing but loopback was created").isEqualTo(1);
    }

    @Test
    void portInUse(Lab lab) {
        String ns = lab.netns("a");
        Tunnels.patchcord(lab, ns, "first", "tinyvpn", "tv0", "127.0.0.1", "5555");
        assertOneClearLine(run(lab, ns, "tinyvpn", "tv1", "127.0.0.1", "5555"), 1,
                "cannot bind UDP port 5555 (another program is using it): Address already in use");
        assertThat(lab.hasInterface(ns, "tv1")).isFalse();
    }
}
