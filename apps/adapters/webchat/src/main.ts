import { runAdapter } from '@app/channel-kit';
import { webchatAdapter } from './webchat.adapter';

void runAdapter(webchatAdapter);
