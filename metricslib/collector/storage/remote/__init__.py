"""Remote write: the queue that forwards appended samples to a real engine, and the protobuf it speaks."""
