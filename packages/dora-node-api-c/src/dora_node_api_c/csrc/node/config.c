/* DORA_NODE_CONFIG: the JSON the daemon hands a node (dora_message.config.NodeConfig). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "node.h"

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

static int get_str(const jval *obj, const char *key, char **out, size_t *len, bool required) {
  const jval *v = json_get(obj, key);
  if (!v) {
    if (!required) return 0;
    return dn_fail("DORA_NODE_CONFIG has no `%s`", key);
  }
  if (v->type != J_STR) return dn_fail("DORA_NODE_CONFIG: `%s` is not a string", key);
  *out = dup_n(v->s, v->slen);
  if (len) *len = v->slen;
  return *out ? 0 : dn_fail("out of memory");
}

static long peer_index(dn_config *cfg, const char *node, size_t len) {
  for (size_t i = 0; i < cfg->n_peers; i++)
    if (strlen(cfg->peers[i].node_id) == len && !memcmp(cfg->peers[i].node_id, node, len))
      return (long)i;
  return -1;
}

/* The node's own entry of the dataflow descriptor: restart policy and health check. */
static void node_spec(dn_config *cfg, const jval *root) {
  const jval *desc = json_get(root, "dataflow_descriptor");
  const jval *nodes = json_get(desc, "nodes");
  if (!nodes || nodes->type != J_ARR) return;
  for (size_t i = 0; i < nodes->n; i++) {
    const jval *id = json_get(&nodes->items[i], "id");
    if (!id || id->type != J_STR || strcmp(id->s, cfg->node_id) != 0) continue;
    const jval *hc = json_get(&nodes->items[i], "health_check_timeout");
    if (hc && hc->type == J_NUM && hc->num > 0) cfg->health_check_timeout = hc->num;
    const jval *rp = json_get(&nodes->items[i], "restart_policy");
    /* free_dora_context cannot know the exit status that follows it: an `on-failure`
     * node may come back, so its outputs are left for the daemon to close (it sees the
     * status), as the Python node API does */
    if (rp && rp->type == J_STR && (!strcmp(rp->s, "always") || !strcmp(rp->s, "on-failure")))
      cfg->may_restart = true;
  }
}

int dn_config_load(const char *text, size_t len, dn_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->threshold = 4096;
  jval root;
  char err[128];
  if (json_parse(text, len, &root, err, sizeof err)) {
    json_free(&root);
    return dn_fail("DORA_NODE_CONFIG is not valid JSON: %s", err);
  }
  int rc = -1;
  if (root.type != J_OBJ) {
    dn_fail("DORA_NODE_CONFIG is not a JSON object");
    goto out;
  }
  if (get_str(&root, "dataflow_id", &cfg->dataflow_id, NULL, true) ||
      get_str(&root, "node_id", &cfg->node_id, NULL, true) ||
      get_str(&root, "daemon_address", &cfg->daemon_address, &cfg->daemon_address_len, true) ||
      get_str(&root, "listen_address", &cfg->listen_address, &cfg->listen_address_len, true))
    goto out;
  /* dora-py-2 secrets (dora_message.auth): absent means none, and the daemon and
   * every receiver then refuse us */
  if (get_str(&root, "secret", &cfg->secret, NULL, false)) goto out;
  const jval *v = json_get(&root, "allow_root_peers");
  cfg->allow_root_peers = v && v->type == J_BOOL && v->b;
  const jval *senders = json_get(&root, "senders");
  if (senders && senders->type == J_OBJ && senders->n) {
    cfg->senders = calloc(senders->n, sizeof *cfg->senders);
    if (!cfg->senders) goto oom;
    for (size_t i = 0; i < senders->n; i++) {
      const jval *tok = &senders->items[i];
      if (tok->type != J_STR) continue;
      dn_sender_cfg *sc = &cfg->senders[cfg->n_senders++];
      sc->node_id = dup_n(senders->keys[i], senders->key_lens[i]);
      sc->token = dup_n(tok->s, tok->slen);
      if (!sc->node_id || !sc->token) goto oom;
    }
  }
  v = json_get(&root, "restart_count");
  if (v && v->type == J_NUM && v->is_int && v->i > 0) cfg->restart_count = (unsigned)v->i;
  v = json_get(&root, "zero_copy_threshold");
  if (v && v->type == J_NUM && v->is_int && v->i >= 0) cfg->threshold = (size_t)v->i;

  const jval *inputs = json_get(&root, "inputs");
  if (inputs && inputs->type == J_OBJ && inputs->n) {
    cfg->inputs = calloc(inputs->n, sizeof *cfg->inputs);
    if (!cfg->inputs) goto oom;
    for (size_t i = 0; i < inputs->n; i++) {
      dn_input_cfg *in = &cfg->inputs[cfg->n_inputs++];
      in->id = dup_n(inputs->keys[i], inputs->key_lens[i]);
      const jval *spec = &inputs->items[i];
      const jval *src = json_get(spec, "source");
      if (!in->id || !src || src->type != J_STR) {
        dn_fail("DORA_NODE_CONFIG: input `%s` has no source", inputs->keys[i]);
        goto out;
      }
      const char *slash = strchr(src->s, '/');
      size_t node_len = slash ? (size_t)(slash - src->s) : src->slen;
      in->source_node = dup_n(src->s, node_len);
      in->source_output = dup_n(slash ? slash + 1 : "", slash ? strlen(slash + 1) : 0);
      if (!in->source_node || !in->source_output) goto oom;
      long size = 10;
      const jval *qs = json_get(spec, "queue_size");
      if (qs && qs->type == J_NUM && qs->is_int) size = (long)qs->i;
      const jval *qp = json_get(spec, "queue_policy");
      bool backpressure = qp && qp->type == J_STR && !strcmp(qp->s, "backpressure");
      /* same caps as the Python scheduler (effective_cap) */
      const jval *to = json_get(spec, "input_timeout");
      if (to && to->type == J_NUM && to->num > 0)
        in->timeout_ms = to->num * 1000 < 1 ? 1 : (uint64_t)(to->num * 1000);
      if (backpressure) in->cap = (size_t)(10 * size > 100 ? 10 * size : 100);
      else in->cap = (size_t)(size > 1 ? size : 1);
    }
  }
  const jval *outputs = json_get(&root, "outputs");
  if (outputs && outputs->type == J_ARR && outputs->n) {
    cfg->outputs = calloc(outputs->n, sizeof(char *));
    if (!cfg->outputs) goto oom;
    for (size_t i = 0; i < outputs->n; i++) {
      if (outputs->items[i].type != J_STR) continue;
      cfg->outputs[cfg->n_outputs] = dup_n(outputs->items[i].s, outputs->items[i].slen);
      if (!cfg->outputs[cfg->n_outputs++]) goto oom;
    }
  }
  const jval *routes = json_get(&root, "routes");
  if (routes && routes->type == J_OBJ && routes->n) {
    size_t max_peers = 0;
    for (size_t i = 0; i < routes->n; i++)
      if (routes->items[i].type == J_ARR) max_peers += routes->items[i].n;
    cfg->routes = calloc(routes->n, sizeof *cfg->routes);
    cfg->peers = calloc(max_peers ? max_peers : 1, sizeof *cfg->peers);
    if (!cfg->routes || !cfg->peers) goto oom;
    for (size_t i = 0; i < routes->n; i++) {
      const jval *list = &routes->items[i];
      if (list->type != J_ARR) continue;
      dn_route *route = &cfg->routes[cfg->n_routes++];
      route->output = dup_n(routes->keys[i], routes->key_lens[i]);
      route->peers = calloc(list->n ? list->n : 1, sizeof(size_t));
      if (!route->output || !route->peers) goto oom;
      for (size_t k = 0; k < list->n; k++) {
        const jval *node = json_get(&list->items[k], "node_id");
        const jval *addr = json_get(&list->items[k], "address");
        if (!node || node->type != J_STR || !addr || addr->type != J_STR) {
          dn_fail("DORA_NODE_CONFIG: a receiver of `%s` lacks node_id or address",
                  route->output);
          goto out;
        }
        long p = peer_index(cfg, node->s, node->slen);
        if (p < 0) {
          if (cfg->n_peers >= DN_MAX_PEERS) {
            dn_fail("output receivers of more than %d nodes are not supported", DN_MAX_PEERS);
            goto out;
          }
          dn_peer_cfg *peer = &cfg->peers[cfg->n_peers];
          peer->node_id = dup_n(node->s, node->slen);
          peer->address = dup_n(addr->s, addr->slen);
          peer->address_len = addr->slen;
          const jval *tok = json_get(&list->items[k], "token");
          peer->token = tok && tok->type == J_STR ? dup_n(tok->s, tok->slen) : dup_n("", 0);
          if (!peer->node_id || !peer->address || !peer->token) goto oom;
          p = (long)cfg->n_peers++;
        }
        bool seen = false;
        for (size_t j = 0; j < route->n_peers; j++) seen |= route->peers[j] == (size_t)p;
        if (!seen) route->peers[route->n_peers++] = (size_t)p;
      }
    }
  }
  node_spec(cfg, &root);
  rc = 0;
  goto out;
oom:
  dn_fail("out of memory");
out:
  json_free(&root);
  if (rc) dn_config_free(cfg);
  return rc;
}

void dn_config_free(dn_config *cfg) {
  free(cfg->dataflow_id);
  free(cfg->node_id);
  free(cfg->daemon_address);
  free(cfg->listen_address);
  for (size_t i = 0; i < cfg->n_inputs; i++) {
    free(cfg->inputs[i].id);
    free(cfg->inputs[i].source_node);
    free(cfg->inputs[i].source_output);
  }
  free(cfg->inputs);
  for (size_t i = 0; i < cfg->n_outputs; i++) free(cfg->outputs[i]);
  free(cfg->outputs);
  for (size_t i = 0; i < cfg->n_peers; i++) {
    free(cfg->peers[i].node_id);
    free(cfg->peers[i].address);
    free(cfg->peers[i].token);
  }
  free(cfg->secret);
  for (size_t i = 0; i < cfg->n_senders; i++) {
    free(cfg->senders[i].node_id);
    free(cfg->senders[i].token);
  }
  free(cfg->senders);
  free(cfg->peers);
  for (size_t i = 0; i < cfg->n_routes; i++) {
    free(cfg->routes[i].output);
    free(cfg->routes[i].peers);
  }
  free(cfg->routes);
  memset(cfg, 0, sizeof *cfg);
}

const dn_route *dn_config_route(const dn_config *cfg, const char *id, size_t len) {
  for (size_t i = 0; i < cfg->n_routes; i++)
    if (strlen(cfg->routes[i].output) == len && !memcmp(cfg->routes[i].output, id, len))
      return &cfg->routes[i];
  return NULL;
}
