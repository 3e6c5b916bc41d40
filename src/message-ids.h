/* message-ids.h — MESSAGE_ID of every lifecycle event sdvisor logs.
 *
 * Each has an entry in data/sdvisor.catalog (journalctl -x shows it); a test checks
 * that the two lists agree. Generated once with `systemd-id128 new`; never change one. */
#pragma once

#define SV_MESSAGE_APP_STARTED       "b10f3ce08b4f4e4d9249d2559fa95ff2"
#define SV_MESSAGE_APP_EXEC_FAILED   "1c864134b38745a19139794b8343a004"
#define SV_MESSAGE_APP_EXITED        "a3895a9585dc48e7b4e86e541883b372"
#define SV_MESSAGE_STOP_REQUESTED    "49e79feffe7140dd9e1112202aeb4937"
#define SV_MESSAGE_STOP_DEADLINE     "99c59698e8b24b3cae16111c795c9b89"
#define SV_MESSAGE_STOPPED           "a13ce7b51caf409db79dab25fa335a02"
#define SV_MESSAGE_RELOAD            "0fb8758401e94598bc3ff5cf5ebd889e"
#define SV_MESSAGE_CONFIG_INVALID    "c7f73f0e3de945af84c1c805422eeb0b"
#define SV_MESSAGE_HOOK_STARTED      "b61fb4bc05a14dfb9ba46ca8d5451f7a"
#define SV_MESSAGE_HOOK_FINISHED     "fd9b30ad261a47cf87c7c9ec64baa2e6"
#define SV_MESSAGE_HOOK_FAILED       "667e14f616164110bcf93e69b7c302ec"
#define SV_MESSAGE_HOOK_TIMEOUT      "bd72f6bb8f8747d3b6b8116c82246ebe"
#define SV_MESSAGE_READY             "11a0e46b76d94884bb8585d94afff6f3"
#define SV_MESSAGE_RELOADED          "bd90a44abf644b5db836b2a304dc1a50"
#define SV_MESSAGE_REPLACED          "b59ccd0dbe3c492f81f800e9fb029879"
#define SV_MESSAGE_REPLACE_FAILED    "748265b107c5435a833e1f39ec679a3f"
#define SV_MESSAGE_READY_TIMEOUT     "e81553d843124d1d88660243708d98c5"
#define SV_MESSAGE_HEALTHY           "e14b3f502f6e48628be390d27d6b2351"
#define SV_MESSAGE_UNHEALTHY         "3dec5f3876da4774b26a612c06a879fc"
#define SV_MESSAGE_HOOK_FAILED_START "9b08f05ecfd34ae2b96f3c1bebb08e99"
#define SV_MESSAGE_CHECK_FAILED      "75714bbd84e7438084cd4ca39ad02d20"
#define SV_MESSAGE_WATCHDOG_ABORT    "32742198d71241a39b3aa933d01b1ad4"
#define SV_MESSAGE_CONTROL_REQUEST   "fa6ef7632e5a452d975f392d41a9e3be"

/* Scheduled jobs (jobs.c). */
#define SV_MESSAGE_JOB_STARTED       "eaf3e56483234fbab8af81aae1ae5719"
#define SV_MESSAGE_JOB_FINISHED      "e741381ef6df4e0fb82e667bd3f6d1af"
#define SV_MESSAGE_JOB_FAILED        "dee2981403434a03a6626e9a09ff7165"
#define SV_MESSAGE_JOB_TIMEOUT       "8b8526d93101459e8721a4410f453fc8"
#define SV_MESSAGE_JOB_SKIPPED       "50824c6128a44ef3a74c8fade43e228d"
#define SV_MESSAGE_JOB_INTERRUPTED   "79105980389048bfa8a494060251c078"
#define SV_MESSAGE_JOB_STATE_INVALID "0ea2cf0cbc4d49a1acdf7412aa148308"
#define SV_MESSAGE_JOB_FENCED        "1b3c2d7e0f4a4e9c8a6d5b2f1e0c9a87"
#define SV_MESSAGE_JOB_CANNOT_RUN    "85ec5c58220545d0a56b499b2fbb2918"
#define SV_MESSAGE_PROCESS_TREES     "bb0c2ea1717c44019bf4e07ed43dddaa"
