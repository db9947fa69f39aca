/** A command the router understood but will not carry out (wrong holder, offer expired, no room). */
export class CommandRejected extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandRejected';
  }
}
