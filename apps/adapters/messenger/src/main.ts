import { runAdapter } from '@app/channel-kit';
import { messengerAdapter } from './messenger.adapter';

void runAdapter(messengerAdapter);
