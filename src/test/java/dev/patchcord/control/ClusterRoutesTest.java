package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.sys.Wakeup;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

import static org.assertj.core.api.Assertions.assertThat;

/** A hub's client routes: collected, then made in one batch per interface and verb, only what changed. */
class ClusterRoutesTest {

    /** Records each route batch as "verb ifname [prefixes]". */
    static final class Routes implements HostNetwork {
        final List<String> calls = new ArrayList<>();
        boolean fail;

        @Override
        public void setMtu(String ifname, int mtu) {
        }

        @Override
        public void setUp(String ifname) {
        }

        @Override
        public void addAddress(String ifname, Cidr address) {
        }

        @Override
        public void removeAddress(String ifname, Cidr address) {
        }

        @Override
        public void addRoutes(String ifname, List<Cidr> destinations, String table) throws NetConfig.NetConfigException {
            record("replace", ifname, destinations);
        }

        @Override
        public void removeRoutes(String ifname, List<Cidr> destinations, String table) throws NetConfig.NetConfigException {
            record("del", ifname, destinations);
        }

        private void record(String verb, String ifname, List<Cidr> destinations) throws NetConfig.NetConfigException {
            if (destinations.isEmpty()) {
                return;
            }
            if (fail) {
                throw new NetConfig.NetConfigException("ip: RTNETLINK answers: Operation not permitted");
            }
            calls.add(verb + " " + ifname + " " + destinations);
        }

        @Override
        public boolean setDns(String ifname, List<String> servers, List<String> searchDomains) {
            return false;
        }

        @Override
        public void clearDns(String ifname) {
        }

        @Override
        public Runnable watchMtu(String ifname, Wakeup wakeup, IntConsumer listener) {
            return () -> { };
        }
    }

    private final Routes net = new Routes();
    private final ByteArrayOutputStream said = new ByteArrayOutputStream();
    private final ClusterRoutes routes = new ClusterRoutes("wg0", "wg0-bp", net, new PrintStream(said, true));

    private static List<Cidr> cidrs(String... s) {
        return java.util.Arrays.stream(s).map(Cidr::parse).toList();
    }

    @Test
    void changesWaitForTheFlushAndGoInOneBatchPerInterface() {
        routes.toMain(cidrs("10.8.0.2/32", "10.8.0.3/32"));
        routes.toBackplane(cidrs("10.8.0.4/32", "fd00::4/128"));
        assertThat(net.calls).isEmpty();
        routes.flush();
        assertThat(net.calls).containsExactly("replace wg0 [10.8.0.2/32, 10.8.0.3/32]",
                "replace wg0-bp [10.8.0.4/32, fd00::4/128]");
        assertThat(routes.backplaneRoutes()).isEqualTo(2);
    }

    @Test
    void onlyWhatChangedIsMadeAndTheLastWordCounts() {
        routes.toMain(cidrs("10.8.0.2/32"));
        routes.flush();
        net.calls.clear();
        routes.toMain(cidrs("10.8.0.2/32")); // unchanged
        routes.toBackplane(cidrs("10.8.0.5/32"));
        routes.toMain(cidrs("10.8.0.5/32")); // moved back before the flush: only the last counts
        routes.flush();
        assertThat(net.calls).containsExactly("replace wg0 [10.8.0.5/32]");
        routes.flush();
        assertThat(net.calls).hasSize(1);
    }

    @Test
    void aClientMovingToAnotherHubIsOneReplaceAndARemovalDeletesFromItsInterface() {
        routes.toMain(cidrs("10.8.0.2/32", "10.8.0.3/32"));
        routes.flush();
        routes.toBackplane(cidrs("10.8.0.2/32"));
        routes.remove(cidrs("10.8.0.3/32"));
        routes.flush();
        assertThat(net.calls).containsExactly("replace wg0 [10.8.0.2/32, 10.8.0.3/32]", "replace wg0-bp [10.8.0.2/32]",
                "del wg0 [10.8.0.3/32]");
        routes.remove(cidrs("10.8.0.2/32", "10.8.0.9/32")); // one never routed: nothing to delete
        routes.flush();
        assertThat(net.calls.getLast()).isEqualTo("del wg0-bp [10.8.0.2/32]");
        assertThat(routes.backplaneRoutes()).isZero();
    }

    @Test
    void aPrefixIsRoutedByItsNetwork() {
        routes.toBackplane(cidrs("192.168.5.7/24"));
        routes.flush();
        assertThat(net.calls).containsExactly("replace wg0-bp [192.168.5.0/24]");
    }

    @Test
    void aFailingBatchIsSaidAndTriedAgainNextTimeWhileTheOthersGoThrough() {
        routes.toMain(cidrs("10.8.0.2/32"));
        routes.flush();
        net.fail = true;
        routes.toBackplane(cidrs("10.8.0.2/32"));
        routes.flush();
        assertThat(said.toString()).contains("cluster routes via wg0-bp:", "Operation not permitted");
        assertThat(routes.backplaneRoutes()).isZero(); // not on record as made
        net.fail = false;
        routes.toBackplane(cidrs("10.8.0.2/32"));
        routes.flush();
        assertThat(net.calls).containsExactly("replace wg0 [10.8.0.2/32]", "replace wg0-bp [10.8.0.2/32]");
        assertThat(routes.backplaneRoutes()).isEqualTo(1);
    }
}
