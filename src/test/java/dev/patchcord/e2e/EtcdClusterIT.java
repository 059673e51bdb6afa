package dev.patchcord.e2e;

import dev.patchcord.lab.EtcdCluster;
import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The etcd test bed that the hubs' cluster mode is tested on: members in namespaces of their own
 * on a store network, reached from a joined client namespace. It must behave as etcd does for
 * real: a three-member cluster keeps serving with one member lost, refuses writes without a
 * quorum, and keeps its data across crashes and restarts.
 */
@ExtendWith(LabExtension.class)
class EtcdClusterIT {
    private static final Duration REQUEST = Duration.ofSeconds(2);
    /** Long enough for an election and for a member to catch up on a loaded machine. */
    private static final Duration SETTLE = Duration.ofSeconds(30);

    @Test
    void threeMembersServeWithAQuorumAndKeepTheirData(Lab lab) {
        EtcdCluster etcd = EtcdCluster.start(lab, 3);
        String client = lab.netns("client");
        assertThat(etcd.join(client)).isEqualTo("10.250.0.101");
        assertThat(etcd.endpoints()).isEqualTo("etcd://10.250.0.11:2379,10.250.0.12:2379,10.250.0.13:2379");
        assertThat(etcd.clientUrls()).containsExactly(
                "http://10.250.0.11:2379", "http://10.250.0.12:2379", "http://10.250.0.13:2379");

        put(etcd, client, "/patchcord/a", "one");
        assertThat(get(etcd, client, "/patchcord/a")).isEqualTo("one");

        // Losing the leader is the harder case: the two left must elect one before writes go through.
        int lost = etcd.leader();
        etcd.kill(lost);
        assertThat(lab.processes().get(etcd.processName(lost)).isAlive()).isFalse();
        awaitPut(etcd, client, "/patchcord/b", "two");
        assertThat(get(etcd, client, "/patchcord/b")).isEqualTo("two");
        assertThat(get(etcd, client, "/patchcord/a")).isEqualTo("one");

        // Back on its data directory, the lost member catches up on the write it missed: a
        // serializable read answers from its own copy, not through the leader.
        etcd.restart(lost);
        List<String> itself = List.of(etcd.clientUrls().get(lost));
        assertThat(Lab.await(SETTLE, () -> "two".equals(
                value(etcd.etcdctl(client, itself, REQUEST, "get", "/patchcord/b", "--consistency=s", "--print-value-only")))))
                .as("restarted member %d has the key written while it was down", lost).isTrue();

        // Without members there is no quorum: a write fails, and within the client's own timeout.
        etcd.stopAll();
        long t0 = System.nanoTime();
        Lab.Result refused = etcd.etcdctl(client, REQUEST, "put", "/patchcord/c", "three");
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(refused.code()).as("put with every member stopped: %s", refused.output()).isNotZero();
        assertThat(took).isLessThan(Duration.ofSeconds(10));

        etcd.startAll();
        awaitPut(etcd, client, "/patchcord/c", "three");
        assertThat(get(etcd, client, "/patchcord/c")).isEqualTo("three");
        assertThat(get(etcd, client, "/patchcord/a")).isEqualTo("one");
        assertThat(get(etcd, client, "/patchcord/b")).isEqualTo("two");
        assertThat(lab.log(etcd.processName(lost))).contains(lab.prefix() + "-etcd" + lost);
    }

    @Test
    void oneMemberKeepsItsDataAcrossACrash(Lab lab) {
        EtcdCluster etcd = EtcdCluster.start(lab, 1);
        String client = lab.netns("client");
        String address = etcd.join(client);
        assertThat(address).isEqualTo("10.250.0.101");
        assertThat(etcd.endpoints()).isEqualTo("etcd://10.250.0.11:2379");
        assertThat(etcd.leader()).isZero();

        put(etcd, client, "/patchcord/solo", "kept");
        etcd.kill(0);
        assertThat(etcd.etcdctl(client, REQUEST, "get", "/patchcord/solo").code())
                .as("get with the only member killed").isNotZero();

        etcd.restart(0);
        assertThat(get(etcd, client, "/patchcord/solo")).isEqualTo("kept");
        put(etcd, client, "/patchcord/solo", "again");
        assertThat(get(etcd, client, "/patchcord/solo")).isEqualTo("again");
        assertThat(etcd.processName(0)).isEqualTo("etcd0-2");
    }

    private static void put(EtcdCluster etcd, String ns, String key, String value) {
        Lab.Result r = etcd.etcdctl(ns, REQUEST, "put", key, value);
        assertThat(r.code()).as("put %s: %s", key, r.output()).isZero();
        assertThat(r.output()).contains("OK");
    }

    /** Retries until a write goes through: right after a member change, the cluster may be electing. */
    private static void awaitPut(EtcdCluster etcd, String ns, String key, String value) {
        String[] last = {""};
        boolean done = Lab.await(SETTLE, () -> {
            Lab.Result r = etcd.etcdctl(ns, REQUEST, "put", key, value);
            last[0] = r.output();
            return r.code() == 0;
        });
        assertThat(done).as("put %s within %s; last answer: %s", key, SETTLE, last[0]).isTrue();
    }

    private static String get(EtcdCluster etcd, String ns, String key) {
        Lab.Result r = etcd.etcdctl(ns, REQUEST, "get", key, "--print-value-only");
        assertThat(r.code()).as("get %s: %s", key, r.output()).isZero();
        return value(r);
    }

    /**
     * The value etcdctl printed. Its client logs a JSON warning (on standard error, which the lab
     * merges in) when it retries on another member, as after a member is lost; those lines are
     * not the value.
     */
    private static String value(Lab.Result r) {
        if (r.code() != 0) {
            return null;
        }
        return String.join("\n", r.output().lines().filter(l -> !l.startsWith("{\"level\":")).toList()).strip();
    }
}
