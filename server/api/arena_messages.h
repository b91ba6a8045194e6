// Request and response of a unary call on one protobuf arena.
//
// By default gRPC's callback API allocates a call's two messages on its call
// arena, but each message's fields (sub-messages, string objects) are
// separate heap allocations, freed one by one when the call ends. On a
// protobuf arena they come from one block that starts inside the holder,
// and are freed with it. Strings longer than the small-string buffer still
// allocate their characters: protobuf 3.21 keeps std::string objects on the
// arena. A DescribeService call made 74 heap allocations in the server
// before, 48 with the arena (BENCHMARKS.md).
#ifndef SERVICEMANAGER_SERVER_API_ARENA_MESSAGES_H_
#define SERVICEMANAGER_SERVER_API_ARENA_MESSAGES_H_

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

#include <cstddef>

namespace servicemanager::api {

template <typename Request, typename Response>
class ArenaMessageAllocator final
    : public grpc::MessageAllocator<Request, Response> {
 public:
  // Each call's first arena block, inside its holder. A DescribeService
  // call's messages take about 1.6 KiB, more with each environment variable;
  // a larger call (a page of a listing) gets further blocks from the heap.
  static constexpr size_t kInitialBlockBytes = 4096;

  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    return new Holder;
  }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_)) {
      this->set_request(
          google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(
          google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = kInitialBlockBytes;
      return options;
    }

    alignas(std::max_align_t) char initial_block_[kInitialBlockBytes];
    google::protobuf::Arena arena_;
  };
};

// Converts to the allocator of any unary method's messages, so that
//   SetMessageAllocatorFor_DescribeService(ArenaMessages());
// needs no message types. Each allocator is stateless and lives as long as
// the process.
struct ArenaMessages {
  template <typename Request, typename Response>
  operator grpc::MessageAllocator<Request, Response>*() const {
    static auto* const allocator =
        new ArenaMessageAllocator<Request, Response>();
    return allocator;
  }
};

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_ARENA_MESSAGES_H_
